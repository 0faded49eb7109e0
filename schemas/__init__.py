"""pandera models for every frame that crosses a camg stage boundary."""

import pandera.polars as pa
import polars as pl


def empty_frame(model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """A frame with a model's columns and no rows."""
    return pl.DataFrame(schema={n: c.dtype.type for n, c in model.to_schema().columns.items()})


def finite_or_null(data: pa.PolarsData) -> pl.LazyFrame:
    """Per row: every float column holds a finite number or null (never NaN or +-inf)."""
    floats = [n for n, t in data.lazyframe.collect_schema().items() if t.is_float()]
    if not floats:
        return data.lazyframe.select(pl.lit(True).alias("finite"))
    finite = [pl.col(n).is_finite().fill_null(True) for n in floats]
    return data.lazyframe.select(pl.all_horizontal(finite).alias("finite"))


class FiniteNumbers(pa.DataFrameModel):
    """The one finiteness guard: every number a stage hands on is finite or null (issue 17).

    Models of frames that cross a stage boundary inherit it; a row that breaks it is quarantined
    under `schema.<Model>.finite` where the stage splits rows on its schema, and stops the stage
    elsewhere (computed values are made finite or null where they are computed).
    """

    @pa.dataframe_check
    @classmethod
    def finite(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """NaN and infinities never reach a mart."""
        return finite_or_null(data)
