"""Independent units of the population stage (replicates, DRI-group fits) on two threads.

Why threads: the stage is numpy arithmetic on arrays of a few hundred thousand floats per unit
(gathers, logarithms, sorts, running sums), which numpy runs with the GIL released; one study at a
time left the second core idle. Threads share the study's arrays: a second process would copy them.

Why the floats are those of one thread: a unit reads inputs no unit changes and computes its own
floats alone; results are taken by index, never in the order units end, so every sum over units
adds them in the same order. Each unit runs in a copy of the caller's context: numpy's `errstate`
is a context variable, so a unit ignores or warns as the loop it replaces did.

Why two (`THREADS`): the machine's two cores (as `camg.ops.engine.DUCKDB_THREADS` and
`Settings.file_workers`), and memory: each thread holds one unit's temporaries at a time, so a
third would add a third unit's (see `in_order` for units whose results are large). Not a setting:
it changes time only, never a figure.
"""

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from threading import Event, Lock
from typing import TypeVar

THREADS = 2

T = TypeVar("T")


def each(work: Callable[[int], T], n: int, threads: int | None = None) -> list[T]:
    """[work(0), ..., work(n - 1)], on `threads` threads (default `THREADS`), the caller's among them.

    Each thread takes the next index not yet taken and puts its result at that index. The caller's
    thread works too: its units reuse the memory the C heap holds free in the caller's arena (glibc
    gives each thread its own), so only the helpers' arenas grow, by one unit's temporaries each.
    For units whose results are small (a replicate's groups x statistics): all are kept.
    """
    threads = THREADS if threads is None else threads
    if threads <= 1 or n <= 1:
        return [work(i) for i in range(n)]
    results: list = [None] * n
    indices, lock, failed = iter(range(n)), Lock(), Event()

    def drain() -> None:
        while not failed.is_set():
            with lock:
                i = next(indices, None)
            if i is None:
                return
            try:
                results[i] = work(i)
            except BaseException:
                failed.set()  # the other threads stop at their next unit
                raise

    with ThreadPoolExecutor(max_workers=threads - 1) as pool:
        helpers = [pool.submit(copy_context().run, drain) for _ in range(threads - 1)]
        drain()
        for helper in helpers:
            helper.result()
    return results


def _submit(pool: ThreadPoolExecutor, work: Callable[[int], T], i: int) -> Future:
    """Unit i on the pool, in a copy of the caller's context (its numpy errstate)."""
    return pool.submit(copy_context().run, work, i)


def in_order(work: Callable[[int], T], n: int, threads: int | None = None) -> Iterator[T]:
    """work(0), ..., work(n - 1) yielded in order, at most `threads` results alive at once.

    For units whose results are large (a DRI-group fit's pseudo-persons): unit i + threads starts
    only when the caller asks for the result after i, so while the caller uses result i (e.g. adds
    it to a pool and frees it) only the next `threads - 1` units are being made.
    """
    threads = THREADS if threads is None else threads
    if threads <= 1 or n <= 1:
        yield from (work(i) for i in range(n))
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        ahead = deque(_submit(pool, work, i) for i in range(min(threads, n)))
        following = len(ahead)
        while ahead:
            result = ahead.popleft().result()
            yield result
            del result  # the caller's to keep or free
            if following < n:
                ahead.append(_submit(pool, work, following))
                following += 1
