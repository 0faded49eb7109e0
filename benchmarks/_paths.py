"""The measured paths, one per process: `python benchmarks/_paths.py PATH RAW OUT RESULT_JSON`.

Each path reads the same workload under RAW and writes its tables under OUT; the process writes its own
step timings to RESULT_JSON (the parent measures wall time and peak RSS of the whole process).

- camg: camg's plain functions in the flow's order, ingest to every published mart (no Prefect, no
  HTML reports), per-file work on `file_workers` threads like the flow's default runner.
- camg-flow: the real Prefect flow (`flows.camg_flow.camg_flow`), temporary API server included.
- prefect-startup: an empty Prefect flow run, i.e. what Prefect adds before camg does any work.
- floor: one DuckDB SQL script: read the CSVs, join composition, write person-day and person tables.
- item-floor: the least work the marts contract asks for, one DuckDB statement per table: read the
  CSVs, join composition, write the item, person-day and person tables to a DuckDB file.
- pandas: what an analyst would write: read_csv, merge, groupby, write parquet.
- pandas-items: the same in pandas, writing the item table too (the item floor's three tables).
"""

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO / "reference"
FNDDS = REFERENCE_DIR / "fndds" / "fndds_ca_mg_per100g.csv.gz"
RELIABLE_STATUS = (1, 4)


def peak_rss_mb(field: str = "VmHWM") -> float:
    """This process's peak resident set (VmHWM: since exec, unlike ru_maxrss which a fork inherits).

    `field="VmRSS"`: the resident set now.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Steps:
    """Wall time and peak RSS so far after each named step (a poor man's profile)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.rows.append(
            {
                "step": name,
                "s": round(now - self.last, 3),
                "peak_mb": round(peak_rss_mb()),
                "rss_mb": round(peak_rss_mb("VmRSS")),
            }
        )
        self.last = now


def camg_path(raw: Path, out: Path, step: Steps) -> None:
    """Camg's pipeline order (`camg.pipeline.run`, as the flow runs it) without Prefect or reports.

    Per-file work runs on `file_workers` threads (CAMG_FILE_WORKERS, default 2), as the flow's
    default task runner does; reports are left out (`camg run --no-reports`, then `camg report`).
    """
    from camg.ops.config import Settings
    from camg.pipeline.run import Runner, run

    class MeasuredRunner(Runner):
        """The plain runner, with wall time and peak RSS after each step (per-file steps: once)."""

        def step(self, fn: Callable) -> Callable:
            timed = super().step(fn)

            def measured(*args: object, **kwargs: object) -> object:
                result = timed(*args, **kwargs)
                step(fn.__name__)
                return result

            return measured

        def fan_out(self, fn: Callable, items: list, *shared: object) -> list:
            result = Runner(self.threads, self.records).fan_out(fn, items, *shared)
            step(fn.__name__ + " (per file)")
            return result

        def inner_steps(self, records: list[dict]) -> None:
            """Parts timed inside the step just ended (its seconds already hold theirs)."""
            super().inner_steps(records)
            for name in dict.fromkeys(r["step"] for r in records):
                seconds = sum(r["duration_seconds"] for r in records if r["step"] == name)
                row = {"step": f"({name}, inside the step before)", "s": round(seconds, 3)}
                step.rows.append(row | {"peak_mb": round(peak_rss_mb())})

    step("import")
    settings = Settings(raw_dir=raw, marts_dir=out / "marts", reference_dir=REFERENCE_DIR)
    run(settings, reports=False, runner=MeasuredRunner(settings.file_workers))


def camg_flow_path(raw: Path, out: Path, step: Steps) -> None:
    """The Prefect flow itself, on a temporary API server like `camg run`."""
    from camg.ops.config import Settings
    from flows.camg_flow import camg_flow

    step("import")
    settings = Settings(raw_dir=raw, marts_dir=out / "marts", reference_dir=REFERENCE_DIR)
    camg_flow(settings)
    step("flow")


def prefect_startup_path(raw: Path, out: Path, step: Steps) -> None:
    """An empty flow run: Prefect's import, temporary server start and run bookkeeping."""
    from prefect import flow

    step("import")

    @flow(name="noop")
    def noop() -> int:
        return 1

    noop()
    step("empty flow run")


FLOOR_SQL = """
create table person_day as
with items as (
    select regexp_extract(filename, '([^/]+)/[^/]+$', 1) as study_id, SEQN as person_id,
        1 as recall_day, DR1IFDCD as food_code, DR1IGRMS as grams, DR1DRSTZ as status
    from read_csv($day1, filename = true,
        types = {'DR1IGRMS': 'DOUBLE', 'DR1IFDCD': 'BIGINT', 'DR1DRSTZ': 'BIGINT'})
    union all
    select regexp_extract(filename, '([^/]+)/[^/]+$', 1), SEQN, 2, DR2IFDCD, DR2IGRMS, DR2DRSTZ
    from read_csv($day2, filename = true,
        types = {'DR2IGRMS': 'DOUBLE', 'DR2IFDCD': 'BIGINT', 'DR2DRSTZ': 'BIGINT'})
)
select study_id, person_id, recall_day,
    sum(grams * calcium_mg_per_100g / 100) as calcium_mg,
    sum(grams * magnesium_mg_per_100g / 100) as magnesium_mg,
    count(*) as n_items
from items left join read_csv($fndds) as c using (food_code)
where status in (1, 4)
group by all;
create table person as
select study_id, person_id, count(*) as n_days,
    avg(calcium_mg) as calcium_mg, avg(magnesium_mg) as magnesium_mg,
    avg(calcium_mg) / nullif(avg(magnesium_mg), 0) as calcium_to_magnesium_mass_ratio
from person_day group by all;
"""

# The item floor: one statement per table the marts contract needs (items with their nutrients, the
# person-days and the persons), all written to one DuckDB file. DuckDB's reader gives no line
# numbers, so items carry their file only (camg's carry the physical line too).
ITEM_FLOOR_SQL = """
create table intake_item as
with items as (
    select filename as source_file, SEQN as person_id, 1 as recall_day, DR1IFDCD as food_code,
        DR1IGRMS as grams, DR1DRSTZ as status
    from read_csv($day1, filename = true,
        types = {'DR1IGRMS': 'DOUBLE', 'DR1IFDCD': 'BIGINT', 'DR1DRSTZ': 'BIGINT'})
    union all
    select filename, SEQN, 2, DR2IFDCD, DR2IGRMS, DR2DRSTZ
    from read_csv($day2, filename = true,
        types = {'DR2IGRMS': 'DOUBLE', 'DR2IFDCD': 'BIGINT', 'DR2DRSTZ': 'BIGINT'})
)
select regexp_extract(source_file, '([^/]+)/[^/]+$', 1) as study_id, person_id, recall_day,
    source_file, food_code, grams,
    grams * calcium_mg_per_100g / 100 as calcium_mg,
    grams * magnesium_mg_per_100g / 100 as magnesium_mg
from items left join read_csv($fndds) as c using (food_code)
where status in (1, 4);
create table intake_person_day as
select study_id, person_id, recall_day, sum(calcium_mg) as calcium_mg,
    sum(magnesium_mg) as magnesium_mg, count(*) as n_items,
    bool_and(calcium_mg is not null and magnesium_mg is not null) as is_complete
from intake_item group by all;
create table intake_person as
select study_id, person_id, count(*) as n_days,
    avg(calcium_mg) as calcium_mg, avg(magnesium_mg) as magnesium_mg,
    avg(calcium_mg) / nullif(avg(magnesium_mg), 0) as calcium_to_magnesium_mass_ratio
from intake_person_day group by all;
"""


def iff_files(raw: Path, day: int) -> list[str]:
    """The workload's individual-foods files of one recall day."""
    return [str(p) for p in sorted(raw.glob(f"*/DR{day}IFF*"))]


def run_duckdb_script(script: str, raw: Path, database: Path) -> None:
    """Run each statement of a floor script on the workload, writing to `database`."""
    import duckdb

    params = {"day1": iff_files(raw, 1), "day2": iff_files(raw, 2), "fndds": str(FNDDS)}
    with duckdb.connect(str(database)) as con:
        for statement in script.split(";"):
            if statement.strip():
                names = {k: v for k, v in params.items() if f"${k}" in statement}
                con.sql(statement, params=names)


def floor_path(raw: Path, out: Path, step: Steps) -> None:
    """The floor: DuckDB alone, reading the CSVs and writing both tables to a database file."""
    step("import")
    run_duckdb_script(FLOOR_SQL, raw, out / "floor.duckdb")
    step("sql")


def item_floor_path(raw: Path, out: Path, step: Steps) -> None:
    """The item floor: DuckDB alone, writing the item, person-day and person tables."""
    step("import")
    run_duckdb_script(ITEM_FLOOR_SQL, raw, out / "item_floor.duckdb")
    step("sql")


def pandas_path(raw: Path, out: Path, step: Steps, write_items: bool = False) -> None:
    """The analyst's pandas: read every file, concat, merge composition, two groupbys, parquet."""
    import pandas as pd

    step("import")
    frames = []
    for day in (1, 2):
        p = f"DR{day}"
        for path in iff_files(raw, day):
            columns = ["SEQN", f"{p}IFDCD", f"{p}IGRMS", f"{p}DRSTZ"]
            frame = pd.read_csv(path, usecols=columns)[columns]
            frame.columns = ["person_id", "food_code", "grams", "status"]
            frames.append(
                frame.assign(study_id=Path(path).parent.name, recall_day=day, source_file=path)
            )
    items = pd.concat(frames, ignore_index=True)
    items = items[items["status"].isin(RELIABLE_STATUS)]
    step("read")
    composition = pd.read_csv(FNDDS, usecols=[0, 2, 3])
    items = items.merge(composition, on="food_code", how="left")
    items["calcium_mg"] = items["grams"] * items["calcium_mg_per_100g"] / 100
    items["magnesium_mg"] = items["grams"] * items["magnesium_mg_per_100g"] / 100
    days = items.groupby(["study_id", "person_id", "recall_day"], as_index=False).agg(
        calcium_mg=("calcium_mg", "sum"),
        magnesium_mg=("magnesium_mg", "sum"),
        n_items=("food_code", "size"),
    )
    persons = days.groupby(["study_id", "person_id"], as_index=False).agg(
        n_days=("recall_day", "size"),
        calcium_mg=("calcium_mg", "mean"),
        magnesium_mg=("magnesium_mg", "mean"),
    )
    persons["calcium_to_magnesium_mass_ratio"] = persons["calcium_mg"] / persons[
        "magnesium_mg"
    ].where(persons["magnesium_mg"] > 0)
    step("merge+groupby")
    if write_items:
        items.to_parquet(out / "intake_item.parquet")
    days.to_parquet(out / "person_day.parquet")
    persons.to_parquet(out / "person.parquet")
    step("write")


def pandas_items_path(raw: Path, out: Path, step: Steps) -> None:
    """The pandas baseline writing the item floor's three tables (items too)."""
    pandas_path(raw, out, step, write_items=True)


PATHS: dict[str, Callable[[Path, Path, Steps], None]] = {
    "camg": camg_path,
    "camg-flow": camg_flow_path,
    "prefect-startup": prefect_startup_path,
    "floor": floor_path,
    "item-floor": item_floor_path,
    "pandas": pandas_path,
    "pandas-items": pandas_items_path,
}


def main(argv: list[str]) -> None:
    """Run one path and write its step timings."""
    name, raw, out, result = argv[1], Path(argv[2]), Path(argv[3]), Path(argv[4])
    out.mkdir(parents=True, exist_ok=True)
    step = Steps()
    PATHS[name](raw, out, step)
    result.write_text(json.dumps({"path": name, "steps": step.rows, "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main(sys.argv)
