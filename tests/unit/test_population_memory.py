"""camg.ops.memory: freed C-heap pages go back to the system (the population stage's peak)."""

import numpy as np
import pytest

from camg.ops import memory


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(memory._trim() is None, reason="no glibc malloc_trim")
def test_freed_heap_pages_are_given_back():
    # 2,000 arrays of 48 KB (under malloc's mmap threshold: on the heap), all freed but the last,
    # which pins the heap's top, so glibc keeps the ~96 MB below it until trimmed.
    arrays = [np.ones(6_000) for _ in range(2_000)]
    last = arrays[-1]
    del arrays
    held = _rss_mb()
    memory.release_freed_memory()
    assert _rss_mb() < held - 50
    assert last.sum() == 6_000
