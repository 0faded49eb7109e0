"""Editing the code makes the next run recompute, never reuse a stale cache entry (issue 16).

A copy of the camg and schemas packages runs the pipeline order (camg.pipeline.run, no Prefect) in a
process of its own on a small slice of the real NHANES 2015-2016 batch. Run again unchanged, it
reuses every cache entry; after one module is edited in the copy, the next run reuses none. Which
modules: two the old hand-written key lists missed (schemas/diary.py, ingest/combine.py);
tests/unit/test_package_identity.py checks that editing any module changes the identity.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import camg
import schemas
from tests.conftest import RAW_DIR, REFERENCE_DIR

RUN = """
import sys
from pathlib import Path
import camg
from camg.ops.config import Settings
from camg.pipeline.run import run
root = Path(sys.argv[1])
settings = Settings(raw_dir=root / "raw", marts_dir=root / "marts", reference_dir=Path(sys.argv[2]))
run(settings, reports=False)
print(camg.__file__)
"""


def small_batch(raw: Path) -> None:
    """The first 300 persons and 600 day-1 items of the bundled NHANES 2015-2016 batch."""
    batch = raw / "nhanes_2015_2016"
    batch.mkdir(parents=True)
    for name, lines in [("DEMO_I.csv", 301), ("DR1IFF_I.csv", 601)]:
        with (RAW_DIR / "nhanes_2015_2016" / name).open(encoding="utf-8") as src:
            head = [next(src) for _ in range(lines)]
        (batch / name).write_text("".join(head), encoding="utf-8")


def cache_entries(root: Path) -> set[str]:
    """The content-keyed entries of the marts folder's caches (files and folders named by hash)."""
    cache = root / "marts" / ".cache"
    return {p.name for kind in cache.iterdir() if kind.is_dir() for p in kind.iterdir()}


def run_copy(code: Path, root: Path) -> None:
    """One run of the copied code, in its own process (the code identity is read once per process)."""
    env = os.environ | {"PYTHONPATH": str(code)}
    result = subprocess.run(
        [sys.executable, "-c", RUN, str(root), str(REFERENCE_DIR)],
        env=env,
        cwd=root,  # not the repository, whose camg would come first on the path
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert Path(result.stdout.strip().splitlines()[-1]).is_relative_to(code), "not the copy ran"


def test_a_run_after_a_code_edit_reuses_no_cache_entry(tmp_path: Path) -> None:
    code = tmp_path / "code"
    for package in (camg, schemas):
        source = Path(package.__file__).parent
        shutil.copytree(source, code / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    small_batch(tmp_path / "raw")
    run_copy(code, tmp_path)
    before = cache_entries(tmp_path)
    run_copy(code, tmp_path)
    assert cache_entries(tmp_path) == before  # unchanged code and inputs: every entry reused
    for module in ["schemas/diary.py", "camg/ingest/combine.py"]:
        with (code / module).open("a", encoding="utf-8") as edited:
            edited.write("\n# edited\n")
        run_copy(code, tmp_path)
        after = cache_entries(tmp_path)
        assert after, module
        assert not after & before, module  # every entry recomputed, the stale ones pruned
        before = after
