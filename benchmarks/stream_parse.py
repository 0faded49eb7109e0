"""Peak memory of reading one big gzip file, as a run's first pass does (issue 17: bounded memory).

`python benchmarks/stream_parse.py [EXPANDED_MB] [--keep DIR]` writes a food-record CSV that expands
to EXPANDED_MB (default 300) as gzip, then, in a fresh process, reads it with
`camg.ingest.batch.read_file` into a file cache (`slim`, diary rows streamed into the cache, as
`camg run` reads a file) and prints the process's peak RSS (VmHWM), the time and the rows read.
The baseline is the same process before any file is read (Python, polars, camg imported).

To compare with another checkout, put it first on the path: `PYTHONPATH=/other/checkout python
benchmarks/stream_parse.py` (the child process prints which camg it imported). `--readers` reads
the same file once per reader in a fresh process each: `engine` (polars' CSV reader, the default
for a regular file, camg.ingest.engine_lines) and `python` (camg's own parse, setting
`engine_reader = false`), and prints rows/s beside the peak.
"""

import gzip
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROW = "p{:07d},{},01077,sr,milk whole 3.25% fat,1,cup\n"
HEADER = "participant_id,recall_day,food_code,food_system,food_description,amount,unit\n"


def write_gzip(path: Path, expanded_mb: int) -> int:
    """A gzip food-record file of about `expanded_mb` MB expanded; its row count."""
    target, written, rows = expanded_mb << 20, 0, 0
    with gzip.open(path, "wt", compresslevel=1, encoding="utf-8") as out:
        out.write(HEADER)
        while written < target:
            block = "".join(ROW.format(rows + i, 1 + i % 2) for i in range(10_000))
            out.write(block)
            written, rows = written + len(block), rows + 10_000
    return rows


def child(raw: Path, marts: Path, reader: str = "") -> None:
    """Read the one file as a run's first pass does; print peak RSS before and after."""
    import camg
    from camg.ingest import batch
    from camg.ops.cache import ReadCache

    sys.path.insert(0, str(Path(__file__).parent))
    from _paths import peak_rss_mb

    path = next((raw / "big").iterdir())
    before = peak_rss_mb()
    clock = time.perf_counter()
    engine = {"engine": {"engine": True}, "python": {"engine": False}}.get(reader, {})
    result = batch.read_file(path, raw, "big", cache=ReadCache(marts), slim=True, **engine)
    seconds = time.perf_counter() - clock
    print(f"camg imported from {Path(camg.__file__).parent}")
    print(f"reader {getattr(result, 'reader', None)}, status {result.status} {result.error or ''}")
    print(f"rows {result.n_diary:,}, {result.n_diary / seconds:,.0f} rows/s")
    print(f"peak RSS before reading {before:,.0f} MB, after {peak_rss_mb():,.0f} MB")
    print(f"read in {seconds:,.1f} s")


def main() -> None:
    """Make the file, then measure a child process reading it."""
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), Path(sys.argv[3]), *sys.argv[4:5])
        return
    readers = ["engine", "python"] if "--readers" in sys.argv else [""]
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    expanded_mb = int(numbers[0]) if numbers else 300
    with tempfile.TemporaryDirectory() as tmp:
        raw, marts = Path(tmp) / "raw", Path(tmp) / "marts"
        (raw / "big").mkdir(parents=True)
        marts.mkdir()
        path = raw / "big" / "records.csv.gz"
        rows = write_gzip(path, expanded_mb)
        size = path.stat().st_size
        print(f"{path.name}: {size / 1e6:,.1f} MB gzip, {expanded_mb} MB expanded, {rows:,} rows")
        for reader in readers:
            shutil.rmtree(marts)
            marts.mkdir()
            command = [sys.executable, __file__, "--child", str(raw), str(marts), reader]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
