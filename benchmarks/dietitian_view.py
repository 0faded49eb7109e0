"""Benchmark: the dietitian view of 100,000 participants in real headless Chromium.

`python benchmarks/dietitian_view.py [MARTS_DB] [N]` takes the real persons of a published marts file
(default data/marts/camg.duckdb; run `camg run` first), repeats them under new ids up to N (default
100,000), renders the study's dietitian page with the report code (`camg.report.build.team_page`) and
opens it from a file in Debian's /usr/bin/chromium (Playwright, headless, no sandbox, no GPU, no
background networking). Prints: page size and build time; load (first contentful paint, table drawn,
load event); then per sort and filter the time of the click's handler and until the next frame is
drawn (median of REPEATS). Targets: under 2 s to first paint, under 300 ms per sort or filter.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl
from playwright.sync_api import Page, sync_playwright

from camg.report.build import team_page
from camg.report.render import Renderer
from camg.report.rules import Rules

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPEATS = 3
# One click and the next drawn frame, timed inside the page.
TIME_CLICK = """async (selector) => {
  const t0 = performance.now();
  document.querySelector(selector).click();
  const handled = performance.now() - t0;
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  return [handled, performance.now() - t0];
}"""
TIME_INPUT = """async ([selector, value, kind]) => {
  const el = document.querySelector(selector);
  const t0 = performance.now();
  el.value = value;
  el.dispatchEvent(new Event(kind));
  const handled = performance.now() - t0;
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  return [handled, performance.now() - t0];
}"""
LOAD_TIMES = """() => {
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const ready = performance.getEntriesByName("camg-table-ready")[0];
  const nav = performance.getEntriesByType("navigation")[0];
  return [paint ? paint.startTime : null, ready ? ready.startTime : null, nav.loadEventEnd];
}"""


def replicated_persons(marts_db: Path, n: int) -> tuple[list[dict], Rules]:
    """n persons: the marts' persons repeated under new ids (`r<k>-<id>`), and the marts' rules."""
    with duckdb.connect(str(marts_db), read_only=True) as con:
        persons = con.sql("select * from intake_person order by study_id, person_id").pl()
        rules = Rules(con.sql("select * from reference_rules").pl())
    copies = -(-n // persons.height)
    frames = [
        persons.with_columns(pl.format("r{}-{}", pl.lit(k), pl.col("person_id")).alias("person_id"))
        for k in range(copies)
    ]
    return pl.concat(frames).head(n).to_dicts(), rules


def timed(page: Page, script: str, arg: object) -> tuple[float, float]:
    """Median (handler ms, to next frame ms) of REPEATS runs of an in-page timing script."""
    runs = [page.evaluate(script, arg) for _ in range(REPEATS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def measure(path: Path) -> None:
    """Open the page in Chromium and print load, sort and filter times."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        started = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load")
        wall = 1000 * (time.perf_counter() - started)
        paint, ready, load = page.evaluate(LOAD_TIMES)
        print(
            f"load: first contentful paint {paint:,.0f} ms, table drawn {ready:,.0f} ms, "
            f"load event {load:,.0f} ms (goto wall {wall:,.0f} ms)"
        )
        for name, key in [("Ca mg", "ca"), ("Participant", "id"), ("DRI group", "group")]:
            handled, frame = timed(page, TIME_CLICK, f'th[data-key="{key}"] button')
            print(f"sort {name}: {handled:,.0f} ms handler, {frame:,.0f} ms to next frame")
        filters = [
            ("search 'r7-'", ["#filter-text", "r7-", "input"]),
            ("search cleared", ["#filter-text", "", "input"]),
            ("risk = high", ["#filter-risk", "high", "change"]),
            ("flag = Mg < EAR", ["#filter-flag", "Mg < EAR", "change"]),
        ]
        for name, arg in filters:
            handled, frame = timed(page, TIME_INPUT, arg)
            print(f"filter {name}: {handled:,.0f} ms handler, {frame:,.0f} ms to next frame")
        print(f"rows shown after the filters: {page.locator('#row-count').inner_text()}")
        browser.close()


def main() -> None:
    """Build the 100,000-participant page, then measure it."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "data" / "marts" / "camg.duckdb"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    persons, rules = replicated_persons(source, n)
    meta = {"code_version": "bench", "rules_version": "bench", "composition_version": "bench"}
    started = time.perf_counter()
    tokens = [f"{i:032x}" for i in range(len(persons))]
    html = team_page(Renderer(meta), rules.bands(), "bench", "bench", persons, tokens)
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "team.html"
        path.write_text(html, encoding="utf-8")
        print(
            f"dietitian view: {len(persons):,} participants, {path.stat().st_size / 1e6:,.1f} MB, "
            f"built in {seconds:.1f} s"
        )
        measure(path)


if __name__ == "__main__":
    main()
