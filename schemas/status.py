"""Study status: whether each study's person and population marts were published (issue 17)."""

import pandera.polars as pa
import polars as pl

STUDY_STATUSES = ["published", "failed", "no_diary_rows"]


class StudyStatus(pa.DataFrameModel):
    """One row per study of the run: published, or why its person-level marts are absent."""

    study_id: str = pa.Field(unique=True)
    status: str = pa.Field(isin=STUDY_STATUSES)
    stage: str = pa.Field(nullable=True)  # where a failed study's error was raised
    error: str = pa.Field(nullable=True)

    class Config:
        """Exactly these columns."""

        strict = True

    @classmethod
    def polars_schema(cls) -> dict[str, pl.DataType]:
        """The columns as a polars schema (to build rows)."""
        return dict.fromkeys(cls.to_schema().columns, pl.String())
