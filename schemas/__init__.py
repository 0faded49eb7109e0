"""pandera models for every frame that crosses a camg stage boundary."""

import pandera.polars as pa
import polars as pl


def empty_frame(model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """A frame with a model's columns and no rows."""
    return pl.DataFrame(schema={n: c.dtype.type for n, c in model.to_schema().columns.items()})
