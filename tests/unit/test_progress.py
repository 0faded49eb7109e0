"""The progress line: step events -> the step running now, its counts and a line per finished step."""

import io
import re

from rich.console import Console

from camg.ops import progress
from camg.ops.progress import StepProgress, StepState


def test_counts_show_what_is_known():
    assert StepState(0.0).counts() == ""
    assert StepState(0.0, done=3, total=14).counts() == "3/14 files"
    assert StepState(0.0, done=2, rows=1500).counts() == "2 files, 1,500 rows"
    state = StepState(0.0, done=1, total=2, rows=412_003, rows_total=859_386)
    assert state.counts() == "1/2 files, 412,003/859,386 rows"


def test_the_line_names_the_running_step_and_leaves_one_line_per_counted_step():
    text = io.StringIO()
    with StepProgress(Console(file=text, width=200)) as line:
        assert line.describe().startswith("starting Prefect (total 0:00:")
        progress.step_expects("read raw file", 2)
        progress.step_started("read raw file")
        progress.step_advanced("read raw file", rows=10)
        progress.step_started("read raw file")  # the second file: same step, counts go on
        progress.step_advanced("read raw file", rows=5)
        assert re.fullmatch(
            r"read raw file 2/2 files, 15 rows \(step 0:00:0\d, total 0:00:0\d\)", line.describe()
        )
        progress.step_started("assemble marts")  # no counts: no line of its own when it ends
        progress.step_started("participant pages", 3, "participants")
        progress.step_advanced("participant pages")
        assert line.describe().startswith("participant pages 1/3 participants (step")
    lines = text.getvalue().splitlines()
    assert re.fullmatch(r"read raw file: 2/2 files, 15 rows \(0:00:0\d\)", lines[0])
    assert re.fullmatch(r"participant pages: 1/3 participants \(0:00:0\d\)", lines[1])
    assert not any("assemble marts" in line for line in lines)
    assert re.fullmatch(r"done after 0:00:0\d", lines[-1])


def test_events_without_a_listener_cost_nothing_and_reach_no_log(caplog):
    with caplog.at_level("INFO"):
        progress.step_started("read raw file", 2)
    assert caplog.records == []
