"""Report input: the published marts file (read-only) -> the frames the report views need.

Reads happen on a read-only connection to the published file, so a run that publishes meanwhile
swaps in a new file without disturbing this reader. Optional marts (`population_summary`,
`food_sources`, `usual_ratio`) are None when the run that published did not make them.
"""

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

TOP_FOODS_PER_PERSON = 5
# Float sums in parallel aggregates depend on the order rows arrive in; rounded to 1e-6 mg (far below
# what a page shows) the same marts give the same numbers, so the same pages (camg.report.store).
SUM_DIGITS = 6
OPTIONAL_MARTS = (
    "population_summary",
    "food_sources",
    "usual_ratio",
    "export_crosscheck",
    "study_status",
)

# Each person's foods ranked by the Ca and the Mg they gave over all recorded days.
PERSON_TOP_FOODS_SQL = """
with per_food as (
    select study_id, person_id, item_kind, food_system, food_code,
           min(food_description) as food_description,
           round(sum(calcium_mg), $digits) as calcium_mg,
           round(sum(magnesium_mg), $digits) as magnesium_mg
    from intake_item
    where is_matched or item_kind = 'supplement'
    group by study_id, person_id, item_kind, food_system, food_code
),
ranked as (
    select *,
        row_number() over (partition by study_id, person_id order by calcium_mg desc nulls last,
                           food_code, item_kind, food_system) as calcium_rank,
        row_number() over (partition by study_id, person_id order by magnesium_mg desc nulls last,
                           food_code, item_kind, food_system) as magnesium_rank
    from per_food
)
select * from ranked
where calcium_rank <= $top or magnesium_rank <= $top
order by study_id, person_id, calcium_rank
"""

# Per study, DRI age group and food code: items, median grams and nutrient per 100 g as the run
# computed them, so a suggested portion is what persons of the same age group ate.
FOOD_PORTIONS_SQL = """
select i.study_id, p.dri_age_group, i.food_system, i.food_code,
       min(i.food_description) as food_description,
       count(*) as n_items, median(i.grams) as typical_grams,
       round(100 * sum(i.calcium_mg) / sum(i.grams), $digits) as calcium_mg_per_100g,
       round(100 * sum(i.magnesium_mg) / sum(i.grams), $digits) as magnesium_mg_per_100g
from intake_item as i
join intake_person as p on p.study_id = i.study_id and p.person_id = i.person_id
where i.item_kind = 'food' and i.is_matched and i.grams > 0 and p.dri_age_group is not null
group by i.study_id, p.dri_age_group, i.food_system, i.food_code
order by i.study_id, p.dri_age_group, i.food_system, i.food_code
"""

# Per study and food: the share of the study's food Ca and Mg (unweighted fallback for food_sources).
STUDY_FOOD_TOTALS_SQL = """
select study_id, item_kind, food_system, food_code, min(food_description) as food_description,
       count(*) as n_items, round(sum(calcium_mg), $digits) as calcium_mg,
       round(sum(magnesium_mg), $digits) as magnesium_mg
from intake_item
where is_matched or item_kind = 'supplement'
group by study_id, item_kind, food_system, food_code
"""

QUARANTINE_BY_RULE_SQL = """
select study_id, rule_id, record_kind, count(*) as n_rows
from quarantine group by study_id, rule_id, record_kind
"""

# A few quarantined rows of each study and rule, as the data-quality page shows them.
QUARANTINE_EXAMPLES_SQL = """
select study_id, rule_id, source_file, source_line, message, raw
from quarantine
qualify row_number() over (partition by study_id, rule_id order by source_file, source_line) <= $n
order by study_id, rule_id, source_file, source_line
"""

# Items whose nutrients were imputed (when the run marks them): by study and food.
IMPUTED_FOODS_SQL = """
select study_id, food_system, food_code, min(food_description) as food_description,
       count(*) as n_items, count(distinct person_id) as n_persons,
       round(sum(grams), $digits) as grams
from intake_item
where is_imputed
group by study_id, food_system, food_code
order by study_id, n_items desc, food_code
"""
QUARANTINE_EXAMPLES_PER_RULE = 3
IMPUTED_FLAG = "is_imputed"

PLAIN_TABLES = ("intake_person", "file_manifest", "unmatched_foods", "run_log", "reference_rules")


@dataclass(frozen=True)
class MartData:
    """The published marts as the reports need them."""

    persons: pl.DataFrame
    person_top_foods: pl.DataFrame
    food_portions: pl.DataFrame
    study_food_totals: pl.DataFrame
    quarantine_by_rule: pl.DataFrame
    file_manifest: pl.DataFrame
    unmatched_foods: pl.DataFrame
    run_log: pl.DataFrame
    reference_rules: pl.DataFrame
    population_summary: pl.DataFrame | None
    food_sources: pl.DataFrame | None
    usual_ratio: pl.DataFrame | None
    quarantine_examples: pl.DataFrame
    imputed_foods: pl.DataFrame | None
    # Recalls beside the export's own totals (ASA24), and each study's status (issue 17).
    export_crosscheck: pl.DataFrame | None = None
    study_status: pl.DataFrame | None = None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables in the marts file."""
    return {name for (name,) in con.sql("show tables").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """Column names of a table or view."""
    return {row[0] for row in con.sql(f'describe "{table}"').fetchall()}  # table: our constant


def load_marts(marts_db: Path) -> MartData:
    """Everything the reports read, from one read-only connection (one consistent run)."""
    with duckdb.connect(str(marts_db), read_only=True) as con:
        con.execute("set enable_progress_bar = false")  # no bar in flow logs
        present = _tables(con)
        plain = {
            name: con.sql(f'select * from "{name}"').pl()  # name: our constant
            for name in PLAIN_TABLES
        }
        optional = {
            name: con.sql(f'select * from "{name}"').pl() if name in present else None
            for name in OPTIONAL_MARTS
        }
        return MartData(
            persons=plain["intake_person"].sort("study_id", "person_id"),
            person_top_foods=con.sql(
                PERSON_TOP_FOODS_SQL, params={"top": TOP_FOODS_PER_PERSON, "digits": SUM_DIGITS}
            ).pl(),
            food_portions=con.sql(FOOD_PORTIONS_SQL, params={"digits": SUM_DIGITS}).pl(),
            study_food_totals=con.sql(STUDY_FOOD_TOTALS_SQL, params={"digits": SUM_DIGITS})
            .pl()
            .sort("study_id", "item_kind", "food_system", "food_code"),
            quarantine_by_rule=con.sql(QUARANTINE_BY_RULE_SQL).pl(),
            file_manifest=plain["file_manifest"],
            unmatched_foods=plain["unmatched_foods"],
            run_log=plain["run_log"],
            reference_rules=plain["reference_rules"],
            population_summary=optional["population_summary"],
            food_sources=optional["food_sources"],
            usual_ratio=optional["usual_ratio"],
            quarantine_examples=con.sql(
                QUARANTINE_EXAMPLES_SQL, params={"n": QUARANTINE_EXAMPLES_PER_RULE}
            ).pl(),
            imputed_foods=con.sql(IMPUTED_FOODS_SQL, params={"digits": SUM_DIGITS}).pl()
            if IMPUTED_FLAG in _columns(con, "intake_item")
            else None,
            export_crosscheck=optional["export_crosscheck"],
            study_status=optional["study_status"],
        )
