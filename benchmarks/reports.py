"""Benchmark: reports for 10,000 participants (`python benchmarks/reports.py [MARTS_DB] [N]`).

Copies a published marts file (default data/marts/camg.duckdb; run `camg run` first), replaces its
persons with N (default 10,000) copies of the real persons of its largest study under new ids (items
copied with them), and times `camg.report.build_reports` on it twice: the first build writes every page,
the second (same marts) renders them again but writes none. Prints figures; asserts nothing.
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from camg.report import build_reports

REPO = Path(__file__).resolve().parents[1]
BENCH_STUDY = "bench_10k"

REPLICATE_SQL = """
create temp table idmap as
select study_id as src_study, person_id as src_person,
       'r' || k || '-' || person_id as new_id
from (select study_id, person_id from intake_person where study_id = $study), range(0, $copies) t(k)
order by k, person_id
limit $n;
create table intake_person_bench as
select p.* replace (m.new_id as person_id, $bench as study_id)
from intake_person p join idmap m on p.study_id = m.src_study and p.person_id = m.src_person;
create table intake_item_bench as
select i.* replace (m.new_id as person_id, $bench as study_id)
from intake_item i join idmap m on i.study_id = m.src_study and i.person_id = m.src_person;
drop table intake_person;
drop {item_kind} intake_item;
alter table intake_person_bench rename to intake_person;
alter table intake_item_bench rename to intake_item;
checkpoint;
"""


def replicated_marts(source: Path, target: Path, n: int) -> tuple[str, int, int]:
    """A copy of the marts whose only persons are n copies of the largest study's persons."""
    shutil.copyfile(source.resolve(), target)
    with duckdb.connect(str(target)) as con:
        study, size = con.sql(
            "select study_id, count(*) from intake_person group by 1 order by 2 desc limit 1"
        ).fetchall()[0]
        copies = -(-n // size)
        # intake_item is a view over the run's item store in published marts (camg.publish.item_table).
        views = con.sql("select view_name from duckdb_views() where not internal").fetchall()
        item_kind = "view" if ("intake_item",) in views else "table"
        script = REPLICATE_SQL.replace("{item_kind}", item_kind)
        for statement in filter(str.strip, script.split(";")):
            con.execute(
                statement,
                {
                    k: v
                    for k, v in {
                        "study": study,
                        "copies": copies,
                        "n": n,
                        "bench": BENCH_STUDY,
                    }.items()
                    if f"${k}" in statement
                },
            )
        persons = con.sql("select count(*) from intake_person").fetchall()[0][0]
        items = con.sql("select count(*) from intake_item").fetchall()[0][0]
    return study, persons, items


def main() -> None:
    """Build the replicated marts, then time one report build on them."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "data" / "marts" / "camg.duckdb"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        marts = Path(tmp) / "camg.duckdb"
        study, persons, items = replicated_marts(source, marts, n)
        print(f"marts: {persons:,} persons ({items:,} items) replicated from {study}")
        started = time.perf_counter()
        summary = build_reports(
            marts, Path(tmp) / "reports", Path(tmp) / "private" / ".report_key", REPO / "reference"
        )
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in summary.reports_dir.rglob("*") if p.is_file())
        print(
            f"reports: {summary.n_files:,} files, {size / 1e6:,.1f} MB "
            f"for {summary.n_participants:,} participants"
        )
        print(
            f"build_reports: {seconds:.1f} s "
            f"({1000 * seconds / summary.n_participants:.2f} ms per participant), "
            f"{summary.n_written:,} pages written"
        )
        started = time.perf_counter()
        again = build_reports(
            marts, Path(tmp) / "reports", Path(tmp) / "private" / ".report_key", REPO / "reference"
        )
        seconds = time.perf_counter() - started
        print(
            f"build_reports again, same marts: {seconds:.1f} s, {again.n_written:,} pages written, "
            f"folder {'switched' if again.is_switched else 'unchanged'}"
        )


if __name__ == "__main__":
    main()
