"""A run's publish step for the kill tests: publish seed frames, announcing every point reached.

Usage: python publish_killed.py SEED_DIR MARTS_DIR RUN_ID [PAUSE_AT]
Publishes SEED_DIR/<table>.parquet with camg.publish.run_folder.publish. Its progress callback (the documented
`on_step`) prints `reached <point>` for each point; at a point starting with PAUSE_AT it waits on
stdin, so the parent can SIGKILL the process exactly there. Production code has no hook for this.
"""

import sys
from pathlib import Path

import polars as pl

from camg.publish.run_folder import publish


def announcer(pause_at: str):
    """A progress callback that prints each point and waits at `pause_at`."""

    def on_step(step: str) -> None:
        print(f"reached {step}", flush=True)
        if pause_at and step.startswith(pause_at):
            print("paused", flush=True)
            sys.stdin.readline()

    return on_step


def main(seed_dir: Path, marts_dir: Path, run_id: str, pause_at: str) -> None:
    """Publish the seed frames as run `run_id`."""
    tables = {p.stem: pl.read_parquet(p) for p in sorted(seed_dir.glob("*.parquet"))}
    publish(marts_dir, tables, run_id, keep_runs=3, on_step=announcer(pause_at))
    print("done", flush=True)


if __name__ == "__main__":
    main(
        Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else ""
    )
