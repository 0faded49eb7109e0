"""Plain-language names of the person flags of `camg.assess` (long for participants, short for tables)."""

from camg.report.charts import Bands


def flag_texts(bands: Bands) -> dict[str, tuple[str, str]]:
    """Flag column -> (short label for the team table, sentence for the participant)."""
    return {
        "is_calcium_below_ear": (
            "Ca < EAR",
            "Your calcium was below your Estimated Average Requirement (EAR).",
        ),
        "is_magnesium_below_ear": (
            "Mg < EAR",
            "Your magnesium was below your Estimated Average Requirement (EAR).",
        ),
        "is_calcium_above_ul": (
            "Ca > UL",
            "Your calcium was above the Tolerable Upper Intake Level (UL).",
        ),
        "is_supplemental_magnesium_above_ul": (
            "suppl. Mg > UL",
            "Your magnesium from supplements was above the Tolerable Upper Intake Level (UL), "
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
