"""Validate stage: raw text rows -> typed canonical rows, or quarantine with the rule they broke.

The rules for diary and participant rows live here; the machinery that applies them (and the pandera
backstop at the stage boundary) is in `camg.validate.rules`.
"""

import polars as pl

from camg.ingest import sidecar
from camg.ingest.cells import text
from camg.ingest.sidecar import usable
from camg.reference import ANY_FOOD, Reference
from camg.validate.diary_cells import (
    TRIMMED,
    WEIGHT_COLUMNS,
    as_date,
    intake_date,
    parsed_columns,
    per_value_columns,
    typed_columns,
)
from camg.validate.rules import (
    INT_TEXT,
    NOT_FINITE_TEXT,
    Rule,
    Validated,
    apply_rules,
    quarantine_rows,
    reader_rules,
    split_on_schema,
)
from schemas.diary import ITEM_KINDS, DiaryRow

DAY_KEY = ["study_id", "person_id", "recall_day"]
DUPLICATE_RULE = "row.duplicate"
DUPLICATE_MESSAGE = "repeats an item already recorded for this person and day"
# What a quarantined row is read back with from its file's raw rows.
RAW_COLUMNS = ["source_file", "source_line", "study_id", "raw_line"]


def diary_rules(reference: Reference) -> list[Rule]:
    """The named rules for diary rows, in the order they are checked.

    They read the parsed columns `with_lookups` adds (each value trimmed and parsed once, not once
    per rule that reads it); `_known` comes from the participants of the row's batch.
    """
    grams_max = reference.threshold("plausibility.item_grams_max")
    ml_max = reference.threshold("plausibility.item_ml_max")
    units_max = reference.threshold("plausibility.household_units_max")
    day_max = reference.threshold("plausibility.recall_day_max")
    per_unit_max = reference.threshold("plausibility.supplement_mg_per_unit_max")
    weight_max = reference.threshold("plausibility.survey_weight_max")
    amount, amount_text, unit, kind = (
        pl.col("_amount"), pl.col("_amount_text"), pl.col("_unit"), pl.col("_kind")
    )  # fmt: skip
    day_text, code, system = pl.col("_day_text"), pl.col("_code"), pl.col("_system")
    is_supplement = (kind == "supplement").fill_null(False)
    systems = reference.composition["food_system"].unique().to_list()
    limit = (
        pl.when(unit == "g").then(grams_max).when(unit == "ml").then(ml_max).otherwise(units_max)
    )
    ca_unit, mg_unit = pl.col("_ca_per_unit"), pl.col("_mg_per_unit")
    return [
        *reader_rules(),
        Rule("person_id.missing", "participant id is empty", pl.col("_person_id").is_null()),
        Rule(
            "intake_date.invalid",
            "intake date is not an ISO date (YYYY-MM-DD) and there is no recall day",
            day_text.is_null()
            & pl.col("_intake_date").is_not_null()
            & as_date(pl.col("_intake_date")).is_null(),
        ),
        Rule(
            "recall_day.invalid",
            "recall day (or intake date) is missing, or the day is not a whole number",
            ~day_text.str.contains(INT_TEXT).fill_null(False),
        ),
        Rule(
            "recall_day.out_of_range",
            f"recall day is below 1 or above {day_max:.0f}",
            ~pl.col("_day").is_between(1, day_max),
        ),
        Rule(
            "recall.not_reliable",
            "the export marks this recall as not reliable or not done",
            pl.col("is_reliable_recall") == "false",
        ),
        Rule(
            "item_kind.unknown",
            f"item kind is not one of {ITEM_KINDS}",
            kind.is_not_null() & ~kind.is_in(ITEM_KINDS),
        ),
        Rule(
            "weight.invalid",
            f"the row's survey weight is negative, above {weight_max:.0f}, infinite or not a number",
            pl.any_horizontal(
                pl.col(f"_{w}_text").is_not_null() & usable(pl.col(f"_{w}"), weight_max).is_null()
                for w in WEIGHT_COLUMNS
            ),
        ),
        Rule("amount.missing", "amount is empty", amount_text.is_null()),
        Rule(
            "amount.not_finite",
            "amount is NaN or infinite",
            amount_text.str.contains(NOT_FINITE_TEXT),
        ),
        Rule("amount.unparseable", "amount is not a number", amount.is_null()),
        Rule("amount.not_positive", "amount is zero or negative", amount <= 0),
        Rule(
            "amount.implausible",
            "amount is above the plausible maximum for its unit",
            amount > limit,
        ),
        Rule(
            "food_code.missing",
            "food item has neither a food code nor a description",
            ~is_supplement & code.is_null() & pl.col("_description").is_null(),
        ),
        Rule(
            "food_system.unknown",
            f"food system is not one of {sorted(systems)}",
            ~is_supplement & code.is_not_null() & ~system.is_in(systems).fill_null(False),
        ),
        Rule(
            "unit.unknown",
            "unit is not g, a mass unit or a household measure (or ml) of this food",
            ~is_supplement
            & (unit != "g")
            & pl.col("_portion_known").is_null()
            & pl.col("_mass_unit").is_null(),
        ),
        Rule(
            "supplement.missing_nutrients",
            "supplement row carries no Ca or Mg per unit",
            is_supplement & ca_unit.is_null() & mg_unit.is_null(),
        ),
        Rule(
            "supplement.implausible",
            "supplement Ca or Mg per unit is negative or implausible",
            is_supplement
            & ((ca_unit < 0) | (mg_unit < 0) | (ca_unit > per_unit_max) | (mg_unit > per_unit_max)),
        ),
        Rule(
            "participant.missing",
            "participant is not in the batch's participants file (or their row there was quarantined)",
            pl.col("_known").is_null(),
        ),
    ]


def with_duplicate_rule(frame: pl.DataFrame) -> pl.DataFrame:
    """Mark repeats of an export's own item key (same person, day and item line) as duplicates.

    The first in (file, line) order is kept. Only rows whose key occurs twice are ordered, so the
    common case (no repeats) costs one hash pass, not a window over every row.
    """
    key = pl.struct(*DAY_KEY, "item_key")
    repeats = (
        frame.with_row_index("_dup_row")
        .filter(pl.col("item_key").is_not_null() & pl.col("rule_id").is_null())
        .filter(key.is_duplicated())
        .sort("source_file", "source_line")
        .filter(~key.is_first_distinct())["_dup_row"]
    )
    if repeats.len() == 0:  # the common case: nothing to mark, no pass over the rows
        return frame
    is_dup = pl.int_range(pl.len(), dtype=pl.UInt32).is_in(repeats.implode())
    return frame.with_columns(
        pl.when(is_dup).then(pl.lit(DUPLICATE_RULE)).otherwise("rule_id").alias("rule_id"),
        pl.when(is_dup).then(pl.lit(DUPLICATE_MESSAGE)).otherwise("message").alias("message"),
    )


def with_recall_day_from_dates(raw: pl.LazyFrame, dates: pl.DataFrame) -> pl.LazyFrame:
    """Rows dated by `intake_date` (and no recall day) numbered per person: first date = day 1.

    The number depends only on the person's distinct dates, not on row or file order, so it is the
    same on every run. `dates` (`camg.ingest.sidecar.intake_dates` of every file of the study) numbers
    a file's rows among the person's dates in all files.
    """
    if dates.height == 0:  # no row is dated by intake_date alone (NHANES, ASA24): nothing to number
        return raw
    days = dates.unique().with_columns(
        pl.col("intake_date").rank("dense").over("study_id", "person_id").alias("_day")
    )
    dated = pl.when(text("recall_day").is_null()).then(intake_date())
    keyed = raw.with_columns(text("person_id").alias("_pid"), dated.alias("_date"))
    numbered = keyed.join(
        days.lazy().rename({"person_id": "_pid", "intake_date": "_date"}),
        on=["study_id", "_pid", "_date"],
        how="left",
        maintain_order="left",
    )
    day = pl.col("_day").cast(pl.Int64).cast(pl.String)
    # text(): an empty or blank recall_day cell is no day, so the date numbers the row (issue 17).
    return numbered.with_columns(pl.coalesce(text("recall_day"), day).alias("recall_day")).drop(
        "_pid", "_date", "_day"
    )


def with_lookups(
    raw: pl.LazyFrame, participants: pl.DataFrame, reference: Reference
) -> pl.LazyFrame:
    """Raw rows with what the rules look up: is the participant known, is the unit known for the food.

    Lookups are membership tests against the small reference sets, not joins: a join in the
    streaming engine held ~400 B more per row of a file (benchmarks/scale.py, 0.8 M-row files).
    """
    known = participants.select(pl.struct("study_id", "person_id")).to_series().implode()
    portions = reference.portions.filter(pl.col("food_system") != ANY_FOOD)
    food_units = portions.select(pl.struct("food_system", "food_code", "unit")).to_series()
    mass_units = reference.portions.filter(pl.col("food_system") == ANY_FOOD)["unit"].implode()
    parsed = raw.with_columns(pl.col(c).str.strip_chars().alias(f"_trim_{c}") for c in TRIMMED)
    parsed = parsed.with_columns(*parsed_columns(), *per_value_columns(raw))
    person = pl.struct(pl.col("study_id"), pl.col("_person_id").alias("person_id"))
    food_unit = pl.struct(
        pl.col("_system").alias("food_system"),
        pl.col("_code").alias("food_code"),
        pl.col("_unit").alias("unit"),
    )
    return parsed.with_columns(
        lookup(person.is_in(known)).alias("_known"),
        lookup(food_unit.is_in(food_units.implode())).alias("_portion_known"),
        lookup(pl.col("_unit").is_in(mass_units)).alias("_mass_unit"),
    )


def lookup(found: pl.Expr) -> pl.Expr:
    """True when found, else null (as a left join's marker column reads: rules test is_null)."""
    return pl.when(found.fill_null(False)).then(True)


def checked_plan(
    raw: pl.LazyFrame, participants: pl.DataFrame, reference: Reference, dates: pl.DataFrame
) -> pl.LazyFrame:
    """Every raw row typed, with the first rule it breaks (`rule_id`, `message`; null if none).

    Row-local only (parsing, membership lookups, the rules; a join only to number rows dated by date
    alone): no row index, no sort, so any engine may run it on any cut of the rows. A broken row
    keeps its raw text (`raw_line`, null for the others) for the quarantine.
    """
    names = raw.collect_schema().names()
    absent = ["is_reliable_recall", "intake_date", *WEIGHT_COLUMNS]
    raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in absent if c not in names)
    plan = with_lookups(with_recall_day_from_dates(raw, dates), participants, reference)
    checked = apply_rules(plan, diary_rules(reference))
    broken = pl.col("rule_id").is_not_null()
    raw_line = pl.when(broken).then(pl.col("raw_line")).alias("raw_line")
    return checked.select(*typed_columns(), "rule_id", "message", raw_line)


def validate_diary(
    raw: pl.DataFrame,
    participants: pl.DataFrame,
    reference: Reference,
    dates: pl.DataFrame | None = None,
) -> Validated:
    """Raw diary rows in memory -> `DiaryRow` rows and quarantine; rows in = kept + quarantined.

    `dates`: the study's intake dates when `raw` is one of its files (see
    with_recall_day_from_dates); without them, the frame's rows are numbered among its own dates.
    A run validates a big diary file a slice at a time (`camg.pipeline.large_files`).
    """
    dates = sidecar.intake_dates(raw) if dates is None else dates
    checked = checked_plan(raw.lazy(), participants, reference, dates).collect()
    bad_by_rule = checked.filter(pl.col("rule_id").is_not_null())
    typed = with_duplicate_rule(checked.filter(pl.col("rule_id").is_null()).drop("raw_line"))
    dup = typed.filter(pl.col("rule_id").is_not_null())
    typed = typed.filter(pl.col("rule_id").is_null()).drop("rule_id", "message")
    good, bad_schema = split_on_schema(typed, DiaryRow, carry=[])
    line = ["source_file", "source_line"]
    lines = pl.concat([f.select(*line, "rule_id", "message") for f in (dup, bad_schema)])
    # Only the raw rows of those lines (usually none) are joined: a join on all of them cost ~25 ms
    # per 100k rows for nothing.
    theirs = raw.select(RAW_COLUMNS).filter(
        pl.col("source_line").is_in(lines["source_line"].implode())
    )
    rejected = lines.join(theirs, on=line, how="left", maintain_order="left")
    return Validated(good, quarantine_rows([bad_by_rule, rejected], "diary"))
