"""Validate stage for participants: raw participant rows -> typed `Participant` rows, or quarantine.

Diary rows are checked against these validated participants (`camg.validate`), so a person whose
row was quarantined here has their diary rows quarantined as `participant.missing`.
"""

from pathlib import Path

import polars as pl

from camg.ingest import batch, sidecar
from camg.ingest.batch import FileRead
from camg.reference import Reference
from camg.rules import (
    Rule,
    Validated,
    apply_rules,
    number,
    quarantine_rows,
    reader_rules,
    split_on_schema,
    text,
)
from schemas.participants import LIFE_STAGES, Participant

SEX_CODES = {
    "male": "male",
    "m": "male",
    "1": "male",
    "female": "female",
    "f": "female",
    "2": "female",
}


def participant_rules(reference: Reference) -> list[Rule]:
    """The named rules for participant rows, in the order they are checked."""
    age_max = reference.threshold("plausibility.age_months_max")
    sex = text("sex").str.to_lowercase()
    stage = text("life_stage").str.to_lowercase()
    return [
        *reader_rules(),
        Rule("person_id.missing", "participant id is empty", text("person_id").is_null()),
        Rule(
            "participant.invalid_sex",
            "sex is not male/female (M/F, 1/2)",
            ~sex.is_in(list(SEX_CODES)).fill_null(False),
        ),
        Rule(
            "participant.impossible_age",
            f"age is missing, negative or above {age_max:.0f} months",
            ~age_in_months().is_between(0, age_max).fill_null(False),
        ),
        Rule(
            "participant.invalid_life_stage",
            f"life stage is not one of {LIFE_STAGES}",
            stage.is_not_null() & ~stage.is_in(LIFE_STAGES),
        ),
        Rule(
            "participant.invalid_design",
            "survey weight is negative or not a number",
            (text("weight").is_not_null() & ~(number("weight") >= 0).fill_null(False))
            | (
                text("weight_two_day").is_not_null()
                & ~(number("weight_two_day") >= 0).fill_null(False)
            ),
        ),
    ]


def age_in_months() -> pl.Expr:
    """Age in whole months: `age_months` when given, else whole years x 12."""
    return pl.coalesce(number("age_months").floor(), number("age_years").floor() * 12)


def validate_participants(raw: pl.DataFrame, reference: Reference) -> Validated:
    """Raw participant rows -> `Participant` rows and quarantine; a repeated id keeps its first row."""
    checked = apply_rules(raw, participant_rules(reference))
    first = (
        pl.int_range(pl.len()).over(["study_id", text("person_id")], order_by="source_line") == 0
    )
    passed = checked.filter(pl.col("rule_id").is_null())
    dup = passed.filter(~first).with_columns(
        pl.lit("participant.duplicate").alias("rule_id"),
        pl.lit("participant id repeats an earlier row of this study").alias("message"),
    )
    typed = passed.filter(first).select(
        "study_id",
        text("person_id").alias("person_id"),
        text("sex").str.to_lowercase().replace_strict(SEX_CODES, default=None).alias("sex"),
        age_in_months().cast(pl.Int64).alias("age_months"),
        text("life_stage").str.to_lowercase().fill_null("general").alias("life_stage"),
        number("weight").alias("weight"),
        number("weight_two_day").alias("weight_two_day"),
        text("strata").alias("strata"),
        text("psu").alias("psu"),
        "source_file",
        "source_line",
        "raw_line",
    )
    good, bad_schema = split_on_schema(typed, Participant, carry=["raw_line"])
    bad_by_rule = checked.filter(pl.col("rule_id").is_not_null())
    quarantine = quarantine_rows([bad_by_rule, dup, bad_schema], "participant")
    return Validated(good.drop("raw_line"), quarantine)


def validate_by_study(reads: list[FileRead], marts_dir: Path, reference: Reference) -> Validated:
    """Every study's participants validated in turn, with the weights its diary files carry attached.

    A run's first pass leaves participant rows in the ingest cache; one study's are read, validated
    (a repeated id is a repeat within its study) and given their dietary weights (`attach_weights`)
    at a time, so a run never holds every raw participant row. Same rows as doing it all at once.
    """
    kept, quarantine = [], []
    for study_id in sorted({r.study_id for r in reads if r.n_participants}) or [None]:
        in_study = [r for r in reads if r.study_id == study_id]
        raw = (
            batch.study_participants(reads, study_id, marts_dir)
            if study_id is not None
            else batch.combined_participants([])  # no participants at all: empty, with columns
        )
        checked = validate_participants(raw, reference)
        kept.append(attach_weights(checked.kept, batch.combined_weights(in_study)))
        quarantine.append(checked.quarantine)
    return Validated(pl.concat(kept), pl.concat(quarantine))


def attach_dietary_weights(participants: pl.DataFrame, raw_diary: pl.DataFrame) -> pl.DataFrame:
    """Fill participants' survey weights from the diary export where the export carries them.

    NHANES puts the dietary day-1 and two-day weights (WTDRD1, WTDR2D) on every food row, not in DEMO.
    """
    return attach_weights(participants, sidecar.dietary_weights(raw_diary))


def attach_weights(participants: pl.DataFrame, weights: pl.DataFrame) -> pl.DataFrame:
    """Participants with missing survey weights filled from the diary's (`camg.ingest.sidecar`)."""
    weights = weights.rename({"weight_one_day": "_w1", "weight_two_day": "_w2"})
    return Participant.validate(
        participants.join(weights, on=["study_id", "person_id"], how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("weight", "_w1").alias("weight"),
            pl.coalesce("weight_two_day", "_w2").alias("weight_two_day"),
        )
        .drop("_w1", "_w2")
    )
