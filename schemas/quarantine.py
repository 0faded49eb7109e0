"""Quarantine: rows that failed a named validation rule, kept with their raw text."""

import pandera.polars as pa


class QuarantineRow(pa.DataFrameModel):
    """One row per rejected record: where it came from, the rule it broke and the raw text."""

    source_file: str
    source_line: int = pa.Field(ge=1)
    study_id: str
    record_kind: str = pa.Field(isin=["diary", "participant", "recall_total"])
    rule_id: str
    message: str
    raw: str = pa.Field(nullable=True)

    class Config:
        """Exactly these columns."""

        strict = True
