"""Plain-language names of the person flags of `assess.intakes` (long for participants, short for tables).

Each sentence says what the flag means in words a participant understands (README, docs/risk.md).
"""

from camg.report.charts import Bands

RISK_WORDS = {
    "high": "high: the records show, with reasonable certainty, too little calcium or magnesium, "
    "too much calcium or supplemental magnesium, or calcium supplements without enough magnesium",
    "moderate": "moderate: your intake is more likely too low (or too high) than right, "
    "but a few days cannot show it for sure",
    "low": "low: your calcium and magnesium are more likely enough than not, and not too much",
    "undetermined": "undetermined: for your age group the reference value is an Adequate Intake, "
    "and intake below it cannot be judged from a few days",
}
STATUS_WORDS = {
    "insufficient data": "We could not assess your intake: none of your recorded days had a value "
    "for every food (some foods are not in our food table, or an amount was missing).",
    "age in months unknown": "We could not assess your intake: you were under one year old and "
    "the study gave your age in years only, so we do not know which infant reference values apply.",
}


def flag_texts(bands: Bands) -> dict[str, tuple[str, str]]:
    """Flag column -> (short label for the team table, sentence for the participant)."""
    return {
        "is_calcium_likely_inadequate": (
            "Ca likely low",
            "Your calcium is likely below what you need: on your recorded days it was low enough "
            "that we are at least 85 % confident your usual intake is below your requirement.",
        ),
        "is_magnesium_likely_inadequate": (
            "Mg likely low",
            "Your magnesium is likely below what you need: on your recorded days it was low enough "
            "that we are at least 85 % confident your usual intake is below your requirement.",
        ),
        "is_calcium_likely_above_ul": (
            "Ca likely > UL",
            "Your calcium is likely above the Tolerable Upper Intake Level (UL), the most that is "
            "safe every day.",
        ),
        "is_supplemental_magnesium_likely_above_ul": (
            "suppl. Mg likely > UL",
            "Your magnesium from supplements is likely above the Tolerable Upper Intake Level (UL), "
            "which applies to supplements only.",
        ),
        "is_ratio_above_high_band": (
            f"ratio > {bands.high:.1f}",
            f"Your Ca:Mg ratio was above {bands.high:.1f}: much calcium for the magnesium you had.",
        ),
        "is_ratio_below_low_band": (
            f"ratio < {bands.low:.1f}",
            f"Your Ca:Mg ratio was below {bands.low:.1f}: little calcium for the magnesium you had.",
        ),
        "is_calcium_supplement_without_magnesium": (
            "Ca suppl. w/o Mg",
            "You took calcium supplements while your magnesium was below your requirement.",
        ),
    }


def raised_flags(person: dict, bands: Bands) -> list[tuple[str, str, str]]:
    """The person's raised flags: (short label, sentence, rule id that set it)."""
    raised = []
    for column, (short, sentence) in flag_texts(bands).items():
        if person.get(column):
            rule_id = person.get(column.removeprefix("is_") + "_rule_id") or ""
            raised.append((short, sentence, rule_id))
    return raised


def risk_label(person: dict) -> str:
    """The risk level, or the reason there is none (insufficient data, age in months unknown)."""
    return person.get("risk_level") or person.get("assessment_status") or "not assessed"
