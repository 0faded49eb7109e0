"""Give freed C-heap memory back to the system between the stages that allocate from different heaps.

numpy allocates through the C library's malloc, polars through its own jemalloc (camg/__init__.py).
glibc keeps what numpy frees for reuse: after a study's usual-intake and usual-ratio figures
(hundreds of MB of pseudo-person arrays, freed) it held ~140 MB that polars, next in line with
the food sources, cannot use, so the two added up in the run's peak (benchmarks/population_stage.py).
`malloc_trim(0)` returns the free pages at once; elsewhere (no glibc) this does nothing.

glibc also gives each thread that allocates its own arena, and `malloc_trim` never shrinks the top
of a thread's arena: a population helper thread (`camg.population.threads`) kept ~50 MB there
after the stage, which the food sources' peak then added to (875 vs 802 MB per study). So camg's
threads share the main arena (`one_arena`, at import: before any thread has made one of its own).
"""

import ctypes
import ctypes.util
from functools import cache

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


@cache
def _libc():
    """The C library, or None where none is found."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None)
    except OSError:
        return None


def one_arena() -> None:
    """Make every thread allocate from glibc's main arena (a no-op without glibc's mallopt)."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def release_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc); a no-op elsewhere."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)
