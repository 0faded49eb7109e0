"""camg.ops.memory: freed C-heap pages go back to the system (the population stage's peak), also
those a helper thread freed (camg's threads share the main arena)."""

import subprocess
import sys

import numpy as np
import pytest

from camg.ops import memory


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


GLIBC = getattr(memory._libc(), "mallopt", None) is not None


@pytest.mark.skipif(not GLIBC, reason="no glibc malloc_trim")
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


# In a fresh process (camg imported first, as a run does, before any thread has an arena; pytest's
# own threads have made theirs already) a thread frees a 24 MB array (glibc then keeps up to 2 x
# 24 MB free at an arena's top), then 2,000 arrays of 16 KB: ~32 MB free at the top of the heap the
# thread allocated from. Had the thread its own arena, malloc_trim would not shrink that top (glibc
# trims only the main arena's): it kept ~16 MB of it.
THREAD_FREES = """
import threading
import camg
import numpy as np
from camg.ops import memory


def rss():
    with open("/proc/self/status") as status:
        return next(int(s.split()[1]) / 1024 for s in status if s.startswith("VmRSS"))


def work():
    big = np.ones(3_000_000)
    del big
    arrays = [np.ones(2_000) for _ in range(2_000)]
    del arrays


before = rss()
thread = threading.Thread(target=work)
thread.start()
thread.join()
memory.release_freed_memory()
print(before, rss())
"""


@pytest.mark.skipif(not GLIBC, reason="no glibc mallopt")
def test_what_a_thread_freed_is_given_back():
    out = subprocess.run([sys.executable, "-c", THREAD_FREES], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    before, after = map(float, out.stdout.split())
    assert after < before + 8
