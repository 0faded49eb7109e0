"""Data-quality view: the run's file manifest, quarantine and unmatched foods -> one page for the team.

What a survey team checks after a delivery: every file with its status and counts (rows in = kept +
quarantined), each broken rule with a few of its rows as they arrived (text, escaped by the template),
the food codes the composition table lacks and, when the run imputes nutrients, the imputed foods;
the studies a run could not publish, and the recalls whose kept items disagree with the export's
own totals (`export_crosscheck.is_items_disagreeing`, issue 17).
"""

import polars as pl

from camg.report import fmt
from camg.report.downloads import table_download
from camg.report.load import MartData

RAW_CHARS = 200  # an example row is shown up to this many characters
UNMATCHED_SHOWN = 100
SHA_CHARS = 12

FILE_COLUMNS = [
    ("study_id", "study"),
    ("file", "file"),
    ("format", "format"),
    ("status", "status"),
    ("rows_in", "rows_in"),
    ("rows_kept", "rows_kept"),
    ("rows_quarantined", "rows_quarantined"),
    ("error", "error"),
    ("sha256", "sha256"),
]
RULE_COLUMNS = [("study_id", "study"), ("rule_id", "rule_id"), ("kind", "kind"), ("rows", "n")]
EXAMPLE_COLUMNS = [
    ("study_id", "study"),
    ("rule_id", "rule_id"),
    ("file", "file"),
    ("line", "line"),
    ("message", "message"),
    ("raw", "raw"),
]
CROSSCHECK_COLUMNS = [
    ("study_id", "study"),
    ("totals_file", "file"),
    ("person_id", "person"),
    ("recall_day", "recall_day"),
    ("n_items", "n_items"),
    ("calcium_mg_camg", "ca_camg"),
    ("calcium_mg_items_reported", "ca_items"),
    ("calcium_mg_export", "ca_export"),
    ("magnesium_mg_camg", "mg_camg"),
    ("magnesium_mg_items_reported", "mg_items"),
    ("magnesium_mg_export", "mg_export"),
]
RECALLS_SHOWN = 200
STATUS_COLUMNS = [
    ("study_id", "study"),
    ("status", "status"),
    ("stage", "stage"),
    ("error", "error"),
]
FOOD_COLUMNS = [
    ("study_id", "study"),
    ("food_code", "code"),
    ("name_as_reported", "name"),
    ("items", "n_items"),
    ("persons", "n_persons"),
    ("grams", "grams"),
]


def _shorten(text: str | None) -> str:
    """Text cut to RAW_CHARS characters (an ellipsis says it was cut)."""
    text = text or ""
    return text if len(text) <= RAW_CHARS else text[: RAW_CHARS - 1] + "…"


def file_rows(manifest: pl.DataFrame) -> list[dict]:
    """Every file of the run, by study and name."""
    return [
        {"study": r["study_id"] or "–"}
        | fmt.file_row(r)
        | {"sha256": (r.get("sha256") or "")[:SHA_CHARS]}
        for r in manifest.sort("study_id", "source_file", nulls_last=True).iter_rows(named=True)
    ]


def rule_rows(by_rule: pl.DataFrame, examples: pl.DataFrame) -> list[dict]:
    """Each study's broken rules, most rows first, with a few of their rows as examples."""
    shown: dict[tuple, list[dict]] = {}
    for r in examples.iter_rows(named=True):
        shown.setdefault((r["study_id"], r["rule_id"]), []).append(
            {
                "study": r["study_id"] or "–",
                "rule_id": r["rule_id"],
                "file": r["source_file"],
                "line": str(r["source_line"]),
                "message": _shorten(r["message"]),
                "raw": _shorten(r["raw"]),
            }
        )
    ordered = by_rule.sort(["study_id", "n_rows", "rule_id"], descending=[False, True, False])
    return [
        {
            "study": r["study_id"] or "–",
            "rule_id": r["rule_id"],
            "kind": r["record_kind"],
            "n": fmt.number(r["n_rows"]),
            "examples": shown.get((r["study_id"], r["rule_id"]), []),
        }
        for r in ordered.iter_rows(named=True)
    ]


def food_rows(foods: pl.DataFrame | None) -> list[dict]:
    """Foods by study, most recorded first (unmatched or imputed)."""
    if foods is None:
        return []
    ordered = foods.sort(["study_id", "n_items"], descending=[False, True])
    return [
        {
            "study": r["study_id"],
            "code": f"{r['food_system']} {r['food_code']}",
            "name": r["food_description"] or "",
            "n_items": fmt.number(r["n_items"]),
            "n_persons": fmt.number(r["n_persons"]),
            "grams": fmt.number(r["grams"]),
        }
        for r in ordered.iter_rows(named=True)
    ]


def crosscheck_view(crosscheck: pl.DataFrame | None, study_id: str | None = None) -> dict:
    """Recalls whose kept items disagree with the export's totals: per totals file, and listed.

    `study_id`: that study's only. A run without an export that ships totals (or a database from
    before the flag) has none to show.
    """
    if crosscheck is None or "is_items_disagreeing" not in crosscheck.columns:
        return {"present": False, "files": [], "recalls": [], "n_disagreeing": "0"}
    if study_id is not None:
        crosscheck = crosscheck.filter(pl.col("study_id") == study_id)
    flag = pl.col("is_items_disagreeing").fill_null(False)
    per_file = (
        crosscheck.group_by("study_id", "source_file")
        .agg(pl.len().alias("n_recalls"), flag.sum().alias("n_disagreeing"))
        .sort("study_id", "source_file")
    )
    recalls = crosscheck.filter(flag).sort("study_id", "source_file", "person_id", "recall_day")
    return {
        "present": crosscheck.height > 0,
        "files": [
            {
                "study": r["study_id"],
                "file": r["source_file"],
                "n_recalls": fmt.number(r["n_recalls"]),
                "n_disagreeing": fmt.number(r["n_disagreeing"]),
            }
            for r in per_file.iter_rows(named=True)
        ],
        "recalls": [recall_row(r) for r in recalls.iter_rows(named=True)],
        "n_disagreeing": fmt.number(recalls.height),
    }


def recall_row(r: dict) -> dict[str, str]:
    """One disagreeing recall: camg's, the export's items' and the export's totals, Ca and Mg."""
    return {
        "study": r["study_id"],
        "file": r["source_file"],
        "person": r["person_id"],
        "recall_day": str(r["recall_day"]),
        "n_items": fmt.number(r["n_items"]),
        "ca_camg": fmt.mg(r["calcium_mg_camg"]),
        "ca_items": fmt.mg(r["calcium_mg_items_reported"]),
        "ca_export": fmt.mg(r["calcium_mg_export"]),
        "mg_camg": fmt.mg(r["magnesium_mg_camg"]),
        "mg_items": fmt.mg(r["magnesium_mg_items_reported"]),
        "mg_export": fmt.mg(r["magnesium_mg_export"]),
    }


def unpublished_rows(status: pl.DataFrame | None) -> list[dict]:
    """The studies the run did not publish (study_status), with the stage and the error."""
    if status is None:
        return []
    return [
        {
            "study": r["study_id"],
            "status": r["status"],
            "stage": r["stage"] or "",
            "error": r["error"] or "",
        }
        for r in status.filter(pl.col("status") != "published")
        .sort("study_id")
        .iter_rows(named=True)
    ]


def quality_view(marts: MartData) -> dict:
    """The data-quality page: files, rules with examples, unmatched and imputed foods, downloads."""
    files = file_rows(marts.file_manifest)
    rules = rule_rows(marts.quarantine_by_rule, marts.quarantine_examples)
    unmatched = food_rows(marts.unmatched_foods)
    imputed = food_rows(marts.imputed_foods)
    manifest = marts.file_manifest
    examples = [e for r in rules for e in r["examples"]]
    crosscheck = crosscheck_view(marts.export_crosscheck)
    unpublished = unpublished_rows(marts.study_status)
    return {
        "totals": {
            k: fmt.number(manifest[k].sum()) for k in ("rows_in", "rows_kept", "rows_quarantined")
        },
        "n_files": fmt.number(manifest.height),
        "n_failed": fmt.number(manifest.filter(pl.col("status") == "failed").height),
        "files": files,
        "rules": rules,
        "unmatched": unmatched[:UNMATCHED_SHOWN],
        "n_unmatched": fmt.number(len(unmatched)),
        "imputed": imputed,
        "has_imputation": marts.imputed_foods is not None,
        "crosscheck": crosscheck | {"shown": crosscheck["recalls"][:RECALLS_SHOWN]},
        "unpublished": unpublished,
        "downloads": {
            "crosscheck": table_download(
                "data-quality-disagreeing-recalls", CROSSCHECK_COLUMNS, crosscheck["recalls"]
            ),
            "unpublished": table_download(
                "data-quality-studies-not-published", STATUS_COLUMNS, unpublished
            ),
            "files": table_download("data-quality-files", FILE_COLUMNS, files),
            "rules": table_download("data-quality-rules", RULE_COLUMNS, rules),
            "examples": table_download("data-quality-examples", EXAMPLE_COLUMNS, examples),
            "unmatched": table_download("data-quality-unmatched-foods", FOOD_COLUMNS, unmatched),
            "imputed": table_download("data-quality-imputed-foods", FOOD_COLUMNS, imputed),
        },
    }
