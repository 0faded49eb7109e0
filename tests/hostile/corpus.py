"""A hostile corpus: one small study per class of bad input or fault (issue 17), beside good ones.

Built in a tmp raw folder by code, since some inputs cannot live in git (names that are not UTF-8,
symlinks leaving the folder, FIFOs, a gzip bomb). Each builder writes one study folder and returns
its study id. Whatever the other folders hold, a good study must be published by every run.
"""

import os
import zlib
from collections.abc import Callable
from pathlib import Path

from tests.unit.test_ingest_asa24 import ITEMS_HEADER, TOTALS_HEADER, csv_text, item, total

FOOD_HEADER = "participant_id,recall_day,food_code,food_system,food_description,amount,unit"
SUPPLEMENT_HEADER = FOOD_HEADER + ",item_kind,calcium_mg,magnesium_mg"
PEOPLE = "participant_id,sex,age_years\np1,F,40\np2,M,35\np3,F,62\n"
# Real SR codes: 01077 milk (1 cup = 244 g), 11457 spinach, 20137 quinoa.
GOOD_ROWS = [
    "p1,1,01077,sr,milk,1,cup",
    "p1,1,11457,sr,spinach,100,g",
    "p1,2,20137,sr,quinoa,185,g",
    "p2,1,01077,sr,milk,2,cup",
    "p2,2,11457,sr,spinach,50,g",
    "p3,1,20137,sr,quinoa,100,g",
]
NHANES_DEMO = "SEQN,RIAGENDR,RIDAGEYR,RIDAGEMN,RIDEXPRG,SDMVPSU,SDMVSTRA\n"
NHANES_DEMO += "1,1,40,,,1,1\n2,2,30,,,2,1\n3,2,50,,,1,2\n"
IFF_HEADER = "SEQN,DR1ILINE,DR1IFDCD,DR1IGRMS,DR1ICALC,DR1IMAGN,WTDRD1,WTDR2D,DR1DRSTZ\n"
# Real FNDDS codes: 11111000 milk, 63101000 apple, 51000100 bread.
IFF_ROWS = [
    "1,1,11111000,244,276,24,5000.5,4000.2,1",
    "1,2,63101000,182,11,9,5000.5,4000.2,1",
    "2,1,51000100,50,72,11,6000.5,5000.2,1",
    "3,1,11111000,100,113,10,7000.5,6000.2,1",
]


def food_record(rows: list[str], header: str = FOOD_HEADER) -> str:
    """A camg food-record CSV text."""
    return "\n".join([header, *rows]) + "\n"


def study(raw: Path, name: str | bytes) -> Path:
    """A new study folder (name as text or raw bytes) with the usual participants file."""
    folder = Path(os.fsdecode(os.path.join(os.fsencode(raw), os.fsencode(name))))
    folder.mkdir()
    (folder / "participants.csv").write_text(PEOPLE)
    return folder


def good(raw: Path, name: str = "good_study") -> str:
    """A study with nothing wrong: it must be published in every run."""
    (study(raw, name) / "records.csv").write_text(food_record(GOOD_ROWS))
    return name


def resent_line(raw: Path) -> str:
    """NHANES items, and a second file re-sending one item line of the first (a partial re-send)."""
    folder = raw / "resent"
    folder.mkdir()
    (folder / "DEMO_I.csv").write_text(NHANES_DEMO)
    (folder / "DR1IFF_I.csv").write_text(IFF_HEADER + "\n".join(IFF_ROWS) + "\n")
    resend = [IFF_ROWS[1], "3,2,63101000,90,5,4,7000.5,6000.2,1"]
    (folder / "DR1IFF_I_resent.csv").write_text(IFF_HEADER + "\n".join(resend) + "\n")
    return "resent"


def description_only(raw: Path) -> str:
    """A food-record row with a description and no code (allowed by the contract)."""
    folder = study(raw, "description_only")
    (folder / "records.csv").write_text(food_record([*GOOD_ROWS, "p1,1,,,homemade soup,250,g"]))
    return "description_only"


def supplement_tiny_magnesium(raw: Path) -> str:
    """A supplement with Mg 1e-320 mg per tablet: Ca / Mg overflows to inf."""
    folder = study(raw, "tiny_magnesium")
    rows = [r + ",food,," for r in GOOD_ROWS]
    rows.append("p2,1,,,calcium tablet,1,tablet,supplement,600,1e-320")
    (folder / "records.csv").write_text(food_record(rows, SUPPLEMENT_HEADER))
    return "tiny_magnesium"


def bad_weights(raw: Path) -> str:
    """Participants with a negative and an overflowing survey weight."""
    folder = raw / "bad_weights"
    folder.mkdir()
    people = "participant_id,sex,age_years,weight,strata,psu\n"
    people += "p1,F,40,-1,1,1\np2,M,35,1e999,1,2\np3,F,62,1200.5,2,1\n"
    (folder / "participants.csv").write_text(people)
    (folder / "records.csv").write_text(food_record(GOOD_ROWS))
    return "bad_weights"


def nhanes_bad_weights(raw: Path) -> str:
    """NHANES items whose dietary weights are negative or overflow (WTDRD1=-1, 1e999)."""
    folder = raw / "nhanes_weights"
    folder.mkdir()
    (folder / "DEMO_I.csv").write_text(NHANES_DEMO)
    rows = ["1,1,11111000,244,276,24,-1,-1,1", "2,1,11111000,100,113,10,1e999,1e999,1", IFF_ROWS[3]]
    (folder / "DR1IFF_I.csv").write_text(IFF_HEADER + "\n".join(rows) + "\n")
    return "nhanes_weights"


def asa24_odd_recall(raw: Path) -> str:
    """ASA24 Totals with RecallNo in non-ASCII digits and beyond int64."""
    folder = raw / "asa24_odd"
    folder.mkdir()
    items = [item("u1", 1, 2, 1, 1, "11111000", "244", "276", "24", "Milk")]
    totals = [total("u1", 1, 2, "276", "24"), total("u1", 2, 2, "1", "1")]
    totals[1][2] = "\u0661"  # ARABIC-INDIC DIGIT ONE
    totals.append(total("u1", 1, 2, "276", "24"))
    totals[2][2] = "99999999999999999999999"
    (folder / "Study_Items.csv").write_text(csv_text(ITEMS_HEADER, items))
    (folder / "Study_Totals.csv").write_text(csv_text(TOTALS_HEADER, totals))
    (folder / "participants.csv").write_text("participant_id,sex,age_years\nu1,F,34\n")
    return "asa24_odd"


def asa24_components(raw: Path) -> str:
    """u1: a food of two components (one FoodNum, CodeNum 1 and 2) matching its Totals row;
    u2: a recall whose Totals row is far above its items."""
    folder = raw / "asa24_components"
    folder.mkdir()
    first = item("u1", 1, 2, 1, 1, "11111000", "244", "276", "24", "Milk in coffee")
    second = item("u1", 1, 2, 1, 1, "51000100", "50", "72", "11", "Bread with it")
    second[ITEMS_HEADER.index("CodeNum")] = "2"
    lone = item("u2", 1, 2, 1, 1, "11111000", "244", "276", "24", "Milk")
    totals = [total("u1", 1, 2, "348", "35"), total("u2", 1, 2, "1100", "300")]
    (folder / "Study_Items.csv").write_text(csv_text(ITEMS_HEADER, [first, second, lone]))
    (folder / "Study_Totals.csv").write_text(csv_text(TOTALS_HEADER, totals))
    (folder / "participants.csv").write_text("participant_id,sex,age_years\nu1,F,34\nu2,M,40\n")
    return "asa24_components"


def unterminated_quote(raw: Path) -> str:
    """One row opens a quote it never closes; the six rows around it are good."""
    folder = study(raw, "open_quote")
    rows = [GOOD_ROWS[0], 'p1,1,01077,sr,"milk, whole,1,cup', *GOOD_ROWS[1:]]
    (folder / "records.csv").write_text(food_record(rows))
    return "open_quote"


def mixed_encoding(raw: Path) -> str:
    """A UTF-8 file with one Latin-1 line; participant José's rows must stay José's."""
    folder = raw / "mixed_encoding"
    folder.mkdir()
    (folder / "participants.csv").write_bytes("participant_id,sex,age_years\nJosé,M,40\n".encode())
    rows = [r.replace(r[:2], "José", 1) for r in GOOD_ROWS]
    text = food_record(rows).encode("utf-8")
    text += b"Jos\xe9,3,01077,sr,caf\xe9 au lait,1,cup\n"  # this line re-saved as Latin-1
    (folder / "records.csv").write_bytes(text)
    return "mixed_encoding"


def dated_rows(raw: Path) -> str:
    """A file with recall_day and intake_date columns, one row's recall_day cell left empty."""
    folder = study(raw, "dated")
    header = "participant_id,recall_day,intake_date,food_code,food_system,amount,unit"
    rows = ["p1,1,2024-01-01,01077,sr,1,cup", "p1,,2024-01-02,11457,sr,100,g"]
    (folder / "records.csv").write_text("\n".join([header, *rows]) + "\n")
    return "dated"


def trust_boundary(raw: Path, outside: Path) -> str:
    """Symlinks out of the raw folder, a dangling link, a FIFO, a hidden file, a root-level file."""
    folder = study(raw, "links")
    (folder / "records.csv").write_text(food_record(GOOD_ROWS))
    secret = outside / "secret.csv"
    secret.write_text(food_record(["p1,3,01077,sr,stolen,1,cup"]))
    (folder / "outside.csv").symlink_to(secret)
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    (folder / "inside.csv").symlink_to(raw / "good_study" / "records.csv")
    (folder / "dangling.csv").symlink_to(outside / "missing.csv")
    os.mkfifo(folder / "pipe.csv")
    (folder / ".hidden.csv").write_text(food_record(GOOD_ROWS))
    (raw / "loose_records.csv").write_text(food_record(GOOD_ROWS))
    return "links"


def undecodable_names(raw: Path) -> str:
    """A study folder and a file whose names are not valid UTF-8 (Latin-1 bytes)."""
    folder = study(raw, b"caf\xe9_study")
    (Path(os.fsdecode(os.fsencode(folder) + b"/rec\xff.csv"))).write_text(food_record(GOOD_ROWS))
    return os.fsdecode(b"caf\xe9_study")


def gzip_bomb(raw: Path, expanded_mb: int = 24) -> str:
    """A small gzip (~25 KB) expanding to `expanded_mb` MB, far past the limit the tests set."""
    folder = study(raw, "bomb")
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"p1,1,01077,sr,milk,1,cup\n" * 40_000
    body = [compressor.compress(food_record([]).encode())]
    body += [compressor.compress(block) for _ in range(expanded_mb * (1 << 20) // len(block))]
    (folder / "records.csv.gz").write_bytes(b"".join([*body, compressor.flush()]))
    return "bomb"


# Every class but the trust boundary, which also needs a folder outside raw/.
BUILDERS: dict[str, Callable[[Path], str]] = {
    "resent_line": resent_line,
    "description_only": description_only,
    "supplement_tiny_magnesium": supplement_tiny_magnesium,
    "bad_weights": bad_weights,
    "nhanes_bad_weights": nhanes_bad_weights,
    "asa24_odd_recall": asa24_odd_recall,
    "asa24_components": asa24_components,
    "unterminated_quote": unterminated_quote,
    "mixed_encoding": mixed_encoding,
    "dated_rows": dated_rows,
    "undecodable_names": undecodable_names,
    "gzip_bomb": gzip_bomb,
}
