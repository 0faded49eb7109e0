"""Raw records: what every reader puts on each record before any value is typed."""

import pandera.polars as pa


class RawRecord(pa.DataFrameModel):
    """One row per record read from an export: where it came from and what the reader saw.

    `reader_rule` is set when the reader itself saw the record was broken (ragged line, control
    characters); values of the subclasses stay the text the export held.
    """

    source_file: str
    source_line: int = pa.Field(ge=1)
    raw_line: str = pa.Field(nullable=True)
    reader_rule: str = pa.Field(nullable=True)
    study_id: str
    person_id: str = pa.Field(nullable=True)

    class Config:
        """Readers may carry extra export columns; they are dropped after validation."""

        strict = False
