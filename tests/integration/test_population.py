"""Population figures on the real NHANES 2007-2012 batch, checked against published figures.

One session-scoped fixture runs camg's plain stage functions (no Prefect: the flow's server start-up
would add nothing here) once on data/raw/nhanes_2007_2012 (~820k rows, ~30 s); one flow run on the
2015-2016 batch checks that the two marts are published.
"""

from pathlib import Path

import duckdb
import polars as pl
import pytest
from prefect.testing.utilities import prefect_test_harness

from camg.assess import intakes
from camg.enrich import composition
from camg.ingest import batch, combine
from camg.population.food_sources import food_sources
from camg.population.groups import days_with_lost_items, weight_divisors
from camg.population.summarise import USUAL_SES_STEP, population_summary
from camg.validate import diary_rows
from camg.validate import participants as participants_stage
from flows.camg_flow import camg_flow
from tests.conftest import REPO, copy_batch

pytestmark = pytest.mark.slow

BAILEY = pl.read_csv(REPO / "validation" / "published" / "bailey2010_table3_calcium.csv")
# Groups whose camg usual Ca legitimately falls outside 15 % of Bailey 2010 (none at present; add
# (sex, age_group): reason, and the test turns into a strict xfail for that group).
OUTSIDE_BAND: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="session")
def nhanes_2007_2012(tmp_path_factory, reference) -> dict[str, pl.DataFrame]:
    raw = tmp_path_factory.mktemp("raw_2007_2012")
    copy_batch("nhanes_2007_2012", raw)  # a copy: symlinks leaving the raw folder are refused
    reads = batch.read_raw(raw)
    raw_diary = combine.combined_diary(reads)
    participants = participants_stage.validate_participants(
        combine.combined_participants(reads), reference
    )
    people = participants_stage.attach_dietary_weights(participants.kept, raw_diary)
    diary = diary_rows.validate_diary(raw_diary, people, reference)
    items = composition.enrich(diary.kept, reference)
    days = intakes.days_with_supplement_status(intakes.person_days(items))
    lost = days_with_lost_items(diary.quarantine, raw_diary)
    persons = intakes.assess_persons(days, people, reference, lost)
    divisors = weight_divisors(people)
    return {
        "items": items,
        "quarantine": diary.quarantine,
        "lost": lost,
        "divisors": divisors,
        "summary": population_summary(days, persons, lost, divisors, reference),
        "sources": food_sources(items, days, persons, lost, divisors, reference),
    }


def usual_mean_calcium(summary: pl.DataFrame, sex: str, age_group: str) -> float:
    row = summary.filter(
        (pl.col("survey_cycle") == "all")
        & (pl.col("basis") == "usual_intake")
        & (pl.col("measure") == "calcium_mg")
        & (pl.col("statistic") == "mean")
        & (pl.col("sex") == sex)
        & (pl.col("age_group") == age_group)
        & (pl.col("life_stage") == "general")
    )
    assert row.height == 1
    return row["value"][0]


@pytest.mark.parametrize(
    ("sex", "age_group", "published"),
    [
        pytest.param(
            r["sex"],
            r["age_group"],
            r["mean_usual_calcium_food_mg"],
            marks=[pytest.mark.xfail(strict=True, reason=OUTSIDE_BAND[(r["sex"], r["age_group"])])]
            if (r["sex"], r["age_group"]) in OUTSIDE_BAND
            else [],
            id=f"{r['sex']}-{r['age_group']}",
        )
        for r in BAILEY.iter_rows(named=True)
    ],
)
def test_usual_calcium_within_15_percent_of_bailey_2010(
    nhanes_2007_2012, sex, age_group, published
):
    # Bailey RL et al. 2010, J Nutr 140:817, Table 3: NHANES 2003-2006, food and water, NCI method.
    camg = usual_mean_calcium(nhanes_2007_2012["summary"], sex, age_group)
    assert abs(camg / published - 1) <= 0.15


def test_human_milk_rows_are_quarantined_and_their_days_left_out(nhanes_2007_2012):
    quarantine = nhanes_2007_2012["quarantine"]
    assert quarantine.group_by("rule_id").len().rows() == [("amount.missing", 4086)]
    # every one is food code 11000000 (human milk): the 3rd field (DRxIFDCD) of the DRxIFF lines
    codes = quarantine["raw"].str.split(",").list.get(2).unique().to_list()
    assert codes == ["11000000"]
    lost = nhanes_2007_2012["lost"]
    assert (lost.height, lost["person_id"].n_unique()) == (748, 403)


def test_fndds_covers_the_items_per_cycle(nhanes_2007_2012):
    items = nhanes_2007_2012["items"].with_columns(
        pl.col("source_file").str.extract(r"IFF_([EFG])\.", 1).alias("cycle")
    )
    share = (
        items.group_by("cycle")
        .agg(
            (pl.col("is_matched") & ~pl.col("is_imputed")).mean().alias("own_code"),
            pl.col("is_matched").mean().alias("with_imputed"),
        )
        .sort("cycle")
    )
    # shared/data/fndds/PROVENANCE.md: 99.0 / 98.7 / 97.0 % of item rows have their own code's values
    assert share["own_code"].round(3).to_list() == [0.990, 0.987, 0.970]
    # imputation from 4+ shared code digits fills all but a few hundred of the others
    assert all(s > 0.999 for s in share["with_imputed"])
    unmatched = items.filter(~pl.col("is_matched"))
    assert 0 < unmatched.height < 300


def test_combined_cycle_weights_estimate_one_population(nhanes_2007_2012):
    assert nhanes_2007_2012["divisors"].rows() == [("nhanes_2007_2012", 3.0)]
    overall = nhanes_2007_2012["summary"].filter(
        (pl.col("survey_cycle") == "all")
        & (pl.col("basis") == "single_day")
        & (pl.col("grouping") == "overall")
        & (pl.col("sex") == "all")
        & (pl.col("measure") == "calcium_mg")
        & (pl.col("statistic") == "mean")
    )
    # WTDR2D / 3 sums to the US civilian non-institutionalised population (~300 million),
    # not three times it
    assert 2.8e8 < overall["population_weighted"][0] < 3.2e8
    assert overall["se_method"][0] == "taylor_strata_psu"


def test_food_group_shares_sum_to_100_and_milk_leads_calcium(nhanes_2007_2012):
    sources = nhanes_2007_2012["sources"].filter(pl.col("survey_cycle") == "all")
    groups = sources.filter(pl.col("level") == "food_group")
    assert groups["calcium_share_pct"].sum() == pytest.approx(100.0)
    assert groups["magnesium_share_pct"].sum() == pytest.approx(100.0)
    top = groups.filter(pl.col("calcium_rank") == 1)
    assert top["code"][0] == "11"


def test_flow_publishes_population_marts(tmp_path: Path, tmp_settings):
    copy_batch("nhanes_2015_2016", tmp_settings.raw_dir)
    with prefect_test_harness(server_startup_timeout=None):
        published = camg_flow(tmp_settings)
    with duckdb.connect(str(published), read_only=True) as con:
        bases = con.sql(
            "select basis, count(*) from population_summary group by basis order by basis"
        ).fetchall()
        n_sources = con.sql("select count(*) from food_sources").fetchall()[0][0]
        ses_step = con.sql(
            "select n_runs, duration_seconds from run_step where step = ?", params=[USUAL_SES_STEP]
        ).fetchall()
        adults = con.sql(
            "select value from usual_ratio where grouping = 'headline_age_group' and sex = 'all' "
            "and age_group = '20+ y' and statistic in ('p50', 'pct_above') order by statistic"
        ).fetchall()
    assert [b for b, _ in bases] == ["single_day", "usual_intake"]
    assert all(n > 0 for _, n in bases)
    assert n_sources > 0
    ((n_runs, seconds),) = ses_step  # the one study's usual-intake replicate SEs: a row apart
    assert n_runs == 1
    assert seconds > 0
    median, above = (v for (v,) in adults)  # usual Ca:Mg ratio of adults, and % above 2.8
    assert 2.0 < median < 4.5
    assert 0 < above < 100
