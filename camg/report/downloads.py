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


def csv_download(name: str, header: list[str], rows: list[list[str]]) -> dict[str, str]:
    """A download link: its file name and a data: URI of the CSV text."""
    return {"name": f"{name}.csv", "href": CSV_URI_PREFIX + quote(csv_text(header, rows), safe="")}


def table_download(name: str, columns: list[tuple[str, str]], rows: list[dict]) -> dict[str, str]:
    """A download link for a table of dict rows: `columns` are (heading, key)."""
    return csv_download(name, [h for h, _ in columns], [[r[k] for _, k in columns] for r in rows])


def assessment_download(name: str, section: dict) -> dict[str, str]:
    """The individual-assessment table: risk levels (as many as the rules name), then shares."""
    header = ["group", "n", *section["levels"], "insufficient_data"]
    header += ["ca_likely_inadequate", "ca_usual_below_ear", "mg_likely_inadequate"]
    header += ["mg_usual_below_ear"]
    keys = ["insufficient", "calcium", "calcium_usual", "magnesium", "magnesium_usual"]
    rows = [[r["group"], r["n"], *r["levels"], *[r[k] for k in keys]] for r in section["rows"]]
    return csv_download(name, header, rows)


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
USUAL_RATIO_COLUMNS = [
    ("group", "group"),
    ("n", "n"),
    ("median_ci95", "p50"),
    ("p5", "p5"),
    ("p95", "p95"),
    ("pct_below_low_band_se", "below"),
    ("pct_above_high_band_se", "above"),
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
    if view.get("usual_ratio"):
        rows = view["usual_ratio"]["rows"]
        out["usual_ratio"] = table_download(f"{stem}-usual-ratio", USUAL_RATIO_COLUMNS, rows)
    quality = view["quality"]
    return out | {
        "assessment": assessment_download(f"{stem}-individual-assessment", view["assessment"]),
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
