"""Dietitian view: a study's intake_person rows -> one compact, column-wise data island for the table.

The page carries the participants as JSON in a `<script type="application/json">` element (data, never
run) and `table.js` draws one page of rows at a time, sorting and filtering index arrays in the
browser: 100,000 participants stay a few MB and open at once (benchmarks/dietitian_view.py).
Repeated text (sex, DRI group, band, risk, flags) is stored once in `codes` and referenced by number.
"""

import json

from markupsafe import Markup

from camg.report.charts import Bands
from camg.report.flags import flag_texts, raised_flags, risk_label

# Risk levels (and the reasons a person has none), least to most severe: the island's risk codes.
RISK_ORDER = {
    "age in months unknown": 0,
    "insufficient data": 1,
    "undetermined": 2,
    "low": 3,
    "moderate": 4,
    "high": 5,
}
# Rounding of the island's numbers: display is whole mg and 2-decimal ratios; sorting needs no more.
MG_DECIMALS = 1
RATIO_DECIMALS = 3
# JSON text that must not reach the HTML parser as markup inside the island.
_HTML_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"})


class _Codes:
    """Text values -> small integers, in order of first appearance."""

    def __init__(self, fixed: list[str] | None = None) -> None:
        self.values: list[str] = list(fixed or [])
        self.index = {v: i for i, v in enumerate(self.values)}

    def code(self, value: str) -> int:
        """The number of a value (a new one gets the next number)."""
        if value not in self.index:
            self.index[value] = len(self.values)
            self.values.append(value)
        return self.index[value]


def _rounded(value: float | None, decimals: int) -> float | None:
    """A number for the island (None stays None: JSON null, sorted first)."""
    return None if value is None else round(float(value), decimals)


COLUMNS = ("id", "href", "sex", "age", "group", "days", "ca", "cas", "mg", "ratio", "band")


def _add_person(columns: dict[str, list], codes: dict[str, _Codes], person: dict) -> None:
    """Append one person's cells (text columns as codes) to the column lists."""
    columns["id"].append(person["person_id"])
    columns["sex"].append(codes["sex"].code(person["sex"] or "unknown"))
    columns["age"].append(person["age_months"])
    columns["group"].append(codes["group"].code(person["dri_age_group"] or "none"))
    columns["days"].append(person.get("n_days_used", person["n_days"]))
    columns["ca"].append(_rounded(person["calcium_mg"], MG_DECIMALS))
    columns["cas"].append(_rounded(person["calcium_supplement_mg"], MG_DECIMALS))
    columns["mg"].append(_rounded(person["magnesium_mg"], MG_DECIMALS))
    columns["ratio"].append(_rounded(person["calcium_to_magnesium_mass_ratio"], RATIO_DECIMALS))
    band = person["ratio_band"] or ("not applied" if person.get("ratio_flag_note") else "none")
    columns["band"].append(codes["band"].code(band))
    risk = risk_label(person)
    risk = risk if risk in RISK_ORDER else "insufficient data"
    columns["risk"].append(RISK_ORDER[risk])


def island(
    study_id: str, file_stem: str, persons: list[dict], hrefs: list[str], bands: Bands
) -> dict:
    """The dietitian table as columns: one list per column, row i of every list is one person.

    Rows are in person id order (the table script sorts ids by row number). `href` is each
    participant page's token (the page is `p/<token>.html`); `flags` a bit mask over `codes.flags`;
    `risk` the index of the level in `codes.risk` (ordered by severity).
    """
    flag_labels = [short for short, _ in flag_texts(bands).values()]
    flag_bit = {label: 1 << i for i, label in enumerate(flag_labels)}
    codes = {name: _Codes() for name in ("sex", "group", "band")} | {
        "risk": _Codes(list(RISK_ORDER))
    }
    columns: dict[str, list] = {name: [] for name in (*COLUMNS, "flags", "risk")}
    rows = sorted(zip(persons, hrefs, strict=True), key=lambda row: row[0]["person_id"])
    for person, href in rows:
        _add_person(columns, codes, person)
        columns["href"].append(href)
        columns["flags"].append(sum(flag_bit[s] for s, _, _ in raised_flags(person, bands)))
    return {
        "study_id": study_id,
        "file_stem": file_stem,
        "n": len(persons),
        "codes": {name: c.values for name, c in codes.items()} | {"flags": flag_labels},
        "columns": columns,
    }


def island_json(data: dict) -> Markup:
    """The island as compact JSON that cannot end its `<script>` element or start markup."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Markup(text.translate(_HTML_UNSAFE))  # every <, >, & and ' is escaped above


def risk_counts(data: dict) -> list[tuple[str, str]]:
    """How many participants at each risk level, highest first."""
    risks = data["columns"]["risk"]
    return [
        (level, f"{risks.count(code):,}")
        for level, code in sorted(RISK_ORDER.items(), key=lambda kv: kv[1], reverse=True)
    ]
