"""camg: calcium and magnesium balance from dietary surveys."""

import os

__version__ = "0.1.0"

# Polars allocates through its own jemalloc, which by default keeps freed pages for a second or so
# before giving them back: a run's RSS then tracks recent peaks, not what it holds. Returning them at
# once (purged on jemalloc's own thread) cut the peak at 10 M rows from 1,099 to 909 MB, for 20% more
# time (101 -> 122 s; benchmarks/scale.py). polars sets its own default when first imported, so this
# runs before: camg and flows import this module first, and a user's own setting still wins.
JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:0,muzzy_decay_ms:0"
os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC_CONF)
# pyarrow (Parquet writers, DuckDB results) allocates from its own pool, mimalloc by default, which
# kept ~90 MB more after reading six 0.8 M-row files on two threads than the C library's malloc.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

# numpy allocates through glibc, which gives every thread its own arena and never trims a thread
# arena's top: all threads share the main one (camg/ops/memory.py, before any thread is started).
from camg.ops.memory import one_arena  # noqa: E402

one_arena()
