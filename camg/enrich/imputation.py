"""Enrich helper: diary food codes + composition table -> per-100 g values for FNDDS codes it lacks.

FNDDS food codes are hierarchical: the first digit is the major food group, the first two the group,
and each further digit narrows the kind of food (USDA ARS, FNDDS documentation, "Food coding
scheme"). A code the composition table does not hold (a code new in that survey cycle, or one our
derived table could not compute) gets the mean per-100 g Ca and Mg of the table's codes sharing
its longest prefix of at least `imputation.fndds_min_prefix_digits` digits (reference/camg_rules.csv:
the four-digit subgroup, e.g. 1121xxxx "milk, lowfat"). A code with no such neighbour stays unknown.
Each imputed row names its method (`fndds_prefix_<digits>`) and the codes its value came from.
"""

import polars as pl

FNDDS_CODE = r"^\d{8}$"
NUTRIENTS = ["calcium_mg_per_100g", "magnesium_mg_per_100g"]
IMPUTED_SCHEMA = {
    "food_system": pl.String,
    "food_code": pl.String,
    "calcium_mg_per_100g": pl.Float64,
    "magnesium_mg_per_100g": pl.Float64,
    "imputation_method": pl.String,
    "imputed_from_codes": pl.String,
}


def missing_fndds_codes(codes: pl.DataFrame, composition: pl.DataFrame) -> pl.Series:
    """Distinct 8-digit FNDDS codes of `codes` (food_system, food_code) the table does not hold.

    Distinct codes first: the pattern is then matched once a code, not once a diary row.
    """
    return (
        codes.select("food_system", "food_code")
        .unique()
        .filter((pl.col("food_system") == "fndds") & pl.col("food_code").str.contains(FNDDS_CODE))
        .join(composition, on=["food_system", "food_code"], how="anti")
        .get_column("food_code")
        .sort()
    )


def prefix_means(composition: pl.DataFrame, digits: int) -> pl.DataFrame:
    """Per FNDDS code prefix of `digits` digits: mean per-100 g Ca and Mg and the codes behind them.

    Remembered for the last composition table seen (by identity, the frame held with its means): a
    run enriches every slice of every file against one table, and these means cost ~0.02 s each.
    """
    held, means = _PREFIX_MEANS.get(digits, (None, None))
    if held is not composition or means is None:
        means = _prefix_means(composition, digits)
        _PREFIX_MEANS[digits] = (composition, means)
    return means


# digits -> (the composition table, its prefix means): one table per run, so one entry per digit.
_PREFIX_MEANS: dict[int, tuple[pl.DataFrame, pl.DataFrame]] = {}


def _prefix_means(composition: pl.DataFrame, digits: int) -> pl.DataFrame:
    """`prefix_means`, computed."""
    table = composition.filter(
        (pl.col("food_system") == "fndds") & pl.col("food_code").str.contains(FNDDS_CODE)
    )
    return (
        table.sort("food_code")
        .group_by(pl.col("food_code").str.slice(0, digits).alias("prefix"), maintain_order=True)
        .agg(
            *[pl.col(n).mean() for n in NUTRIENTS],
            pl.col("food_code").str.join(" ").alias("imputed_from_codes"),
        )
    )


def imputed_composition(
    codes: pl.DataFrame, composition: pl.DataFrame, min_digits: int
) -> pl.DataFrame:
    """Composition rows for the FNDDS codes of `codes` the table lacks, by longest shared prefix."""
    missing = missing_fndds_codes(codes, composition).to_frame()
    found = []
    for digits in range(7, min_digits - 1, -1):
        if missing.height == 0:
            break
        keyed = missing.with_columns(pl.col("food_code").str.slice(0, digits).alias("prefix"))
        hit = keyed.join(prefix_means(composition, digits), on="prefix", how="inner")
        found.append(hit.with_columns(pl.lit(f"fndds_prefix_{digits}").alias("imputation_method")))
        missing = missing.join(hit.select("food_code"), on="food_code", how="anti")
    if not found:
        return pl.DataFrame(schema=IMPUTED_SCHEMA)
    return (
        pl.concat(found)
        .with_columns(pl.lit("fndds").alias("food_system"))
        .select(list(IMPUTED_SCHEMA))
        .sort("food_code")
    )
