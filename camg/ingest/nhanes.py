"""Ingest reader: NHANES individual-foods (DR1IFF/DR2IFF) and DEMO files -> raw canonical rows.

NHANES names its columns by recall day (`DR1IFDCD` on day 1, `DR2IFDCD` on day 2), so the day comes
from the columns the file holds. Values stay text here; `camg.validate.diary_rows` types and checks them.
"""

import re

import polars as pl

from camg.ingest.delimited import column_or_null, provenance_columns, renamed_columns
from camg.ingest.study import Source

IFF_DAY_PATTERN = re.compile(r"^DR([12])IFDCD$")
# NHANES recall status (DRxDRSTZ): 1 = reliable, 4 = breast-fed infant (reliable, breast milk not
# computed); 2, 3 and 5 mean the recall is not reliable or not done.
RELIABLE_RECALL_STATUS = ["1", "4"]
# NHANES codes: RIAGENDR 1 = male, 2 = female; RIDEXPRG 1 = pregnant at exam.
NHANES_SEX = {"1": "male", "2": "female"}
# NHANES names each 2-year cycle's files by a letter suffix (CDC, NHANES Questionnaires, Datasets and
# Related Documentation: DEMO_B = 2001-2002 ... DEMO_J = 2017-2018). A file without one is unknown.
NHANES_CYCLES = {
    "B": "2001-2002",
    "C": "2003-2004",
    "D": "2005-2006",
    "E": "2007-2008",
    "F": "2009-2010",
    "G": "2011-2012",
    "H": "2013-2014",
    "I": "2015-2016",
    "J": "2017-2018",
}
CYCLE_SUFFIX = re.compile(r"_([A-Z])\.[A-Za-z.]+$")


def nhanes_cycle(source_file: str) -> str | None:
    """The survey cycle an NHANES file belongs to, from its name's letter suffix (`DEMO_F.xpt`)."""
    match = CYCLE_SUFFIX.search(source_file.rsplit("/", 1)[-1].upper())
    return NHANES_CYCLES.get(match.group(1)) if match else None


def iff_recall_day(header: list[str]) -> int | None:
    """The recall day an individual-foods file holds (1 or 2), from its column names."""
    days = {int(m.group(1)) for name in header if (m := IFF_DAY_PATTERN.match(name.upper()))}
    return days.pop() if len(days) == 1 else None


def is_iff(header: list[str]) -> bool:
    """An NHANES individual-foods file: SEQN and exactly one day's food-code column."""
    upper = {h.upper() for h in header}
    return "SEQN" in upper and iff_recall_day(header) is not None


def is_demo(header: list[str]) -> bool:
    """An NHANES demographics file: SEQN with sex and age in years."""
    upper = {h.upper() for h in header}
    return {"SEQN", "RIAGENDR", "RIDAGEYR"} <= upper


def nhanes_integer_text(column: str) -> pl.Expr:
    """NHANES ids and codes as the integer text NHANES prints (`83732.0` from an XPT -> `83732`)."""
    text = pl.col(column).str.strip_chars()
    return (
        pl.when(text.str.contains(r"^\d+\.0+$"))
        .then(text.str.replace(r"\.0+$", ""))
        .otherwise(text)
    )


_col = column_or_null


def read_iff(rows: pl.DataFrame, header: list[str], source: Source) -> pl.DataFrame:
    """Raw diary rows from an NHANES individual-foods file (one row per food item)."""
    rows = renamed_columns(rows, header, "upper")
    day = iff_recall_day(header)
    p = f"DR{day}"
    status = _col(rows, f"{p}DRSTZ").str.strip_chars().str.replace(r"\.0+$", "")
    item_key = _col(rows, f"{p}ILINE") if f"{p}ILINE" in rows.columns else pl.col("source_line")
    return rows.select(
        *provenance_columns(source.source_file, source.study_id, len(header)),
        nhanes_integer_text("SEQN").alias("person_id"),
        pl.lit(str(day)).alias("recall_day"),
        pl.lit(None, dtype=pl.String).alias("intake_date"),
        pl.lit("food").alias("item_kind"),
        item_key.cast(pl.String).str.strip_chars().alias("item_key"),
        nhanes_integer_text(f"{p}IFDCD").alias("food_code"),
        pl.lit("fndds").alias("food_system"),
        pl.lit(None, dtype=pl.String).alias("food_description"),
        _col(rows, f"{p}IGRMS").alias("amount"),
        pl.lit("g").alias("unit"),
        _col(rows, f"{p}ICALC").alias("reported_calcium_mg"),
        _col(rows, f"{p}IMAGN").alias("reported_magnesium_mg"),
        pl.lit(None, dtype=pl.String).alias("supplement_calcium_mg_per_unit"),
        pl.lit(None, dtype=pl.String).alias("supplement_magnesium_mg_per_unit"),
        pl.when(status.is_null() | status.is_in(RELIABLE_RECALL_STATUS))
        .then(pl.lit("true"))
        .otherwise(pl.lit("false"))
        .alias("is_reliable_recall"),
        _col(rows, "WTDRD1").alias("weight_one_day"),
        _col(rows, "WTDR2D").alias("weight_two_day"),
    )


def read_demo(rows: pl.DataFrame, header: list[str], source: Source) -> pl.DataFrame:
    """Raw participant rows from an NHANES DEMO file (sex, age, pregnancy, design)."""
    rows = renamed_columns(rows, header, "upper")
    sex_code = nhanes_integer_text("RIAGENDR")
    pregnant = _col(rows, "RIDEXPRG").str.strip_chars().str.replace(r"\.0+$", "") == "1"
    return rows.select(
        *provenance_columns(source.source_file, source.study_id, len(header)),
        nhanes_integer_text("SEQN").alias("person_id"),
        sex_code.replace_strict(NHANES_SEX, default=sex_code).alias("sex"),
        _col(rows, "RIDAGEYR").alias("age_years"),
        _col(rows, "RIDAGEMN").alias("age_months"),
        pl.when(pregnant.fill_null(False))
        .then(pl.lit("pregnant"))
        .otherwise(pl.lit("general"))
        .alias("life_stage"),
        pl.lit(None, dtype=pl.String).alias("weight"),
        pl.lit(None, dtype=pl.String).alias("weight_two_day"),
        nhanes_integer_text("SDMVSTRA").alias("strata")
        if "SDMVSTRA" in rows.columns
        else pl.lit(None, dtype=pl.String).alias("strata"),
        nhanes_integer_text("SDMVPSU").alias("psu")
        if "SDMVPSU" in rows.columns
        else pl.lit(None, dtype=pl.String).alias("psu"),
        pl.lit(nhanes_cycle(source.source_file), dtype=pl.String).alias("survey_cycle"),
    )
