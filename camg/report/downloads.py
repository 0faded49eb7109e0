"""Table downloads: a report table's rows -> a CSV `data:` URI the page links to (no file, no network).

Cells are the table's text as shown. Text that a spreadsheet would run as a formula (ids and names are
untrusted) is prefixed with `'`; the URI is percent-encoded, so it cannot break out of its attribute.
"""

import csv
import io
from urllib.parse import quote

SPREADSHEET_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_URI_PREFIX = "data:text/csv;charset=utf-8,"


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return f"'{cell}" if cell.startswith(SPREADSHEET_FORMULA_START) else cell


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """CSV text (RFC 4180 quoting, CRLF line ends) with formula-looking cells defused."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([[spreadsheet_safe(str(c)) for c in row] for row in rows])
    return text.getvalue()


def table_download(name: str, columns: list[tuple[str, str]], rows: list[dict]) -> dict[str, str]:
    """A download link for a table: its file name and a data: URI of `columns` (heading, key)."""
    text = csv_text([h for h, _ in columns], [[r[k] for _, k in columns] for r in rows])
    return {"name": f"{name}.csv", "href": CSV_URI_PREFIX + quote(text, safe="")}


INTAKE_COLUMNS = [
    ("group", "group"),
    ("n", "n"),
    ("mean_mg", "mean"),
    ("p5_mg", "p5"),
    ("median_mg", "p50"),
    ("p95_mg", "p95"),
    ("ear_mg", "ear"),
    ("rda_or_ai_mg", "target"),
    ("pct_below_ear_se", "below_ear"),
    ("pct_above_ul_se", "above_ul"),
    ("basis", "basis"),
]
BAND_COLUMNS = [("band", "band"), ("share_of_participants", "share"), ("rule_id", "rule_id")]
BAND_RULE_COLUMNS = [("rule_id", "rule_id"), ("ratio", "value"), ("source", "source")]
SOURCE_COLUMNS = [("food", "name"), ("share", "share"), ("per_person_day", "per_day")]
FILE_COLUMNS = [
    ("file", "file"),
    ("format", "format"),
    ("status", "status"),
    ("rows_in", "rows_in"),
    ("rows_kept", "rows_kept"),
    ("rows_quarantined", "rows_quarantined"),
    ("error", "error"),
]
QUARANTINE_COLUMNS = [("rule_id", "rule_id"), ("record_kind", "kind"), ("rows", "n")]
UNMATCHED_COLUMNS = [
    ("food_code", "code"),
    ("name_as_reported", "name"),
    ("items", "n_items"),
    ("persons", "n_persons"),
    ("grams", "grams"),
]


def population_downloads(view: dict, stem: str) -> dict[str, dict[str, str]]:
    """A CSV download for every table of a population report, by table name."""
    out = {
        f"{s['name'].lower()}_intake": table_download(
            f"{stem}-{s['name'].lower()}-intake", INTAKE_COLUMNS, s["rows"]
        )
        for s in view["intakes"]
    }
    out |= {
        f"{s['name'].lower()}_sources": table_download(
            f"{stem}-{s['name'].lower()}-sources", SOURCE_COLUMNS, s["rows"]
        )
        for s in view["sources"]["nutrients"]
    }
    quality = view["quality"]
    return out | {
        "ratio_bands": table_download(f"{stem}-ratio-bands", BAND_COLUMNS, view["ratio"]["bands"]),
        "ratio_rules": table_download(
            f"{stem}-ratio-band-sources", BAND_RULE_COLUMNS, view["ratio"]["rules"]
        ),
        "files": table_download(f"{stem}-files", FILE_COLUMNS, quality["files"]),
        "quarantine": table_download(
            f"{stem}-quarantine", QUARANTINE_COLUMNS, quality["quarantine"]
        ),
        "unmatched": table_download(
            f"{stem}-unmatched-foods", UNMATCHED_COLUMNS, quality["unmatched"]
        ),
    }
