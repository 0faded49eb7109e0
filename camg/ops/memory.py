"""Give freed C-heap memory back to the system between the stages that allocate from different heaps.

numpy allocates through the C library's malloc, polars through its own jemalloc (camg/__init__.py).
glibc keeps what numpy frees for reuse: after a study's usual-intake and usual-ratio figures
(hundreds of MB of pseudo-person arrays, freed) it held ~140 MB that polars, next in line with
the food sources, cannot use, so the two added up in the run's peak (benchmarks/population_stage.py).
`malloc_trim(0)` returns the free pages at once; elsewhere (no glibc) this does nothing.
"""

import ctypes
import ctypes.util
from functools import cache


@cache
def _trim():
    """The C library's malloc_trim (glibc), or None where it has none."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc); a no-op elsewhere."""
    trim = _trim()
    if trim is not None:
        trim(0)
