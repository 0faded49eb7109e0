"""Dietitian view: a study's intake_person rows -> one sortable, filterable table row per participant."""

from camg.report import fmt
from camg.report.charts import Bands
from camg.report.flags import raised_flags

RISK_ORDER = {"high": 3, "moderate": 2, "low": 1, "unknown": 0}


def _sort_key(value: float | None) -> str:
    """A numeric sort value for the table script (empty sorts first)."""
    return "" if value is None else repr(float(value))


def dietitian_row(person: dict, href: str, bands: Bands) -> dict:
    """One participant's table row: text cells plus the numbers the script sorts by."""
    flags = [short for short, _, _ in raised_flags(person, bands)]
    ratio = person["calcium_to_magnesium_mass_ratio"]
    return {
        "href": href,
        "person_id": person["person_id"],
        "sex": person["sex"],
        "age": fmt.age_years(person["age_months"]),
        "age_sort": _sort_key(person["age_months"]),
        "group": person["dri_age_group"] or "none",
        "days": str(person["n_days"]),
        "calcium": fmt.number(person["calcium_mg"]),
        "calcium_sort": _sort_key(person["calcium_mg"]),
        "calcium_supplement": fmt.number(person["calcium_supplement_mg"]),
        "calcium_supplement_sort": _sort_key(person["calcium_supplement_mg"]),
        "magnesium": fmt.number(person["magnesium_mg"]),
        "magnesium_sort": _sort_key(person["magnesium_mg"]),
        "ratio": fmt.ratio(ratio),
        "ratio_sort": _sort_key(ratio),
        "band": person["ratio_band"] or "unknown",
        "flags": ", ".join(flags) or "none",
        "flag_attr": "|".join(flags),
        "search": " ".join([person["person_id"], person["dri_age_group"] or "", *flags]).lower(),
        "n_flags": str(person["n_flags"]),
        "risk": person["risk_level"],
        "risk_sort": str(RISK_ORDER.get(person["risk_level"], 0)),
    }


def risk_counts(rows: list[dict]) -> list[tuple[str, str]]:
    """How many participants at each risk level, highest first."""
    return [
        (level, f"{sum(1 for r in rows if r['risk'] == level):,}")
        for level in sorted(RISK_ORDER, key=RISK_ORDER.__getitem__, reverse=True)
    ]
