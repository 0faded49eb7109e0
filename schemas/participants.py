"""Participants: raw text rows from a participants file -> validated person attributes."""

import pandera.polars as pa
import polars as pl

from schemas import FiniteNumbers
from schemas.raw import RawRecord

SEXES = ["male", "female"]
LIFE_STAGES = ["general", "pregnant", "lactating"]


class RawParticipant(RawRecord):
    """One row per record of a participants file (DEMO or participants.csv), values as text."""

    sex: str = pa.Field(nullable=True)
    age_years: str = pa.Field(nullable=True)
    age_months: str = pa.Field(nullable=True)
    life_stage: str = pa.Field(nullable=True)
    weight: str = pa.Field(nullable=True)
    weight_two_day: str = pa.Field(nullable=True)
    strata: str = pa.Field(nullable=True)
    psu: str = pa.Field(nullable=True)
    survey_cycle: str = pa.Field(nullable=True)


class Participant(FiniteNumbers):
    """One row per validated participant: sex, age, life stage and optional survey design.

    `weight` is the one-day (or only) survey weight, `weight_two_day` the weight for persons with two
    recalls (NHANES WTDR2D); both null where the study has no design. `age_months` is null for an
    infant under one year whose age was given in years only (the month is unknown). `survey_cycle` is
    the cycle (wave) the person was sampled in: NHANES from the DEMO file's suffix (`DEMO_F` =
    2009-2010), other studies from a participants column; null when the study does not say.
    """

    study_id: str
    person_id: str = pa.Field(str_length={"min_value": 1})
    sex: str = pa.Field(isin=SEXES)
    age_months: int = pa.Field(ge=0, le=1560, nullable=True)
    life_stage: str = pa.Field(isin=LIFE_STAGES)
    weight: float = pa.Field(nullable=True, ge=0)
    weight_two_day: float = pa.Field(nullable=True, ge=0)
    strata: str = pa.Field(nullable=True)
    psu: str = pa.Field(nullable=True)
    survey_cycle: str = pa.Field(nullable=True)
    source_file: str
    source_line: int = pa.Field(ge=1)

    class Config:
        """Exactly these columns."""

        strict = True


def empty_raw_participants() -> pl.DataFrame:
    """A raw participants frame with no rows, for files that hold none."""
    schema = {name: pl.String for name in RawParticipant.to_schema().columns}
    schema["source_line"] = pl.Int64
    return pl.DataFrame(schema=schema)
