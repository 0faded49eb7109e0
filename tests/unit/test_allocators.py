"""camg's allocator settings reach polars' jemalloc in every entry point (set before polars loads)."""

import os
import subprocess
import sys

import pytest

import camg


@pytest.mark.parametrize("entry", ["flows.cli", "flows.camg_flow", "camg.pipeline.diary_files"])
def test_an_entry_point_leaves_camgs_jemalloc_options_in_force(entry):
    environ = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    probe = f"import {entry}, os; print(os.environ['_RJEM_MALLOC_CONF'])"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=environ, capture_output=True, text=True, check=True
    )
    # jemalloc reads options left to right: the last setting of each wins (polars prepends its own).
    assert out.stdout.strip().endswith(camg.JEMALLOC_CONF)


def test_a_users_own_jemalloc_options_win():
    environ = {**os.environ, "_RJEM_MALLOC_CONF": "dirty_decay_ms:42"}
    probe = "import flows.cli, os; print(os.environ['_RJEM_MALLOC_CONF'])"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=environ, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().endswith("dirty_decay_ms:42")
