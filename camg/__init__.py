"""camg: calcium and magnesium balance from dietary surveys."""

import os

__version__ = "0.1.0"

# Polars allocates through its own jemalloc, which by default keeps freed pages for seconds before
# giving them back: a run's RSS then tracks the sum of past peaks, not what it holds. Returning them
# at once cut peak RSS at 10 M rows from 1.07 to 0.91 GB and the final RSS from 1.04 to 0.70 GB
# (benchmarks/scale.py). It must be set before polars is first imported; a user's own setting wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
# pyarrow (Parquet writers, DuckDB results) allocates from its own pool, mimalloc by default, which
# kept ~90 MB more after reading six 0.8 M-row files on two threads than the C library's malloc.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
