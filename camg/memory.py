"""Give freed memory back to the operating system between units of work (a file, a study).

glibc's malloc keeps what a thread freed in that thread's arena for reuse; numpy, and pyarrow on the
system pool (camg/__init__.py), allocate there, so after the per-file stage ran on worker threads a
run's resident set stayed hundreds of MB above what it held (benchmarks/scale.py, 50 M rows).
`malloc_trim` returns those free pages; elsewhere than glibc it is a no-op.
"""

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim() -> object | None:
    """The C library's malloc_trim (glibc), or None where it has none."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Return freed heap pages to the operating system (a few ms; only where glibc is)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
