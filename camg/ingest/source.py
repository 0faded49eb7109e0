"""Ingest helper: one open raw file -> its sha256, and its bytes as a stream of blocks (gunzipped).

A file is never held whole (issue 17, bounded memory): it is hashed block by block for the cache
key, and, on a cache miss, read again from the same open file, gunzipped on the fly when its
content (not its name) says gzip, up to `max_expanded_bytes` of output. The second read is hashed
too: the bytes parsed must be the bytes whose hash keys the cache entry (`HashCheck`).
"""

import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from camg.ingest.errors import UnreadableFileError

GZIP_MAGIC = b"\x1f\x8b"
# Bytes a gzip file may expand to unless the settings say otherwise (`max_expanded_bytes`): a
# small file that expands without end (a "gzip bomb") is failed, not decompressed.
MAX_EXPANDED_BYTES = 1 << 30
# Bytes read (and, for gzip, produced) at once: with the longest line, what a parse holds of a file.
BLOCK_BYTES = 1 << 20


def file_digest(stream: BinaryIO) -> tuple[str, int]:
    """The sha256 (hex) and size of a stream's bytes from where it stands, read block by block."""
    digest, size = hashlib.sha256(), 0
    while block := stream.read(BLOCK_BYTES):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


class HashCheck(io.RawIOBase):
    """A readable stream that hashes what is read through it (to compare with the cache key)."""

    def __init__(self, stream: BinaryIO) -> None:
        """Read from `stream`."""
        super().__init__()
        self.stream, self.digest, self.size = stream, hashlib.sha256(), 0

    def readable(self) -> bool:
        """Always."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill `buffer` from the stream, hashing the bytes."""
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def finish(self) -> str:
        """Read what is left (hashing it) and return the hex digest of every byte read."""
        while self.read(BLOCK_BYTES):
            pass
        return self.digest.hexdigest()


def blocks(stream: BinaryIO, max_expanded_bytes: int = MAX_EXPANDED_BYTES) -> Iterator[bytes]:
    """The stream's bytes block by block, gunzipped (every member) when they start as gzip.

    Raises UnreadableFileError for a damaged gzip, or past `max_expanded_bytes` of its output.
    """
    buffered = io.BufferedReader(stream, BLOCK_BYTES) if not hasattr(stream, "peek") else stream
    if buffered.peek(2)[:2] != GZIP_MAGIC:
        while block := buffered.read(BLOCK_BYTES):
            yield block
        return
    size = 0
    try:
        with gzip.GzipFile(fileobj=buffered) as unzipped:
            while block := unzipped.read(BLOCK_BYTES):
                size += len(block)
                if size > max_expanded_bytes:
                    raise UnreadableFileError(
                        f"gzip file expands to more than {max_expanded_bytes:,} bytes "
                        "(setting max_expanded_bytes): not read"
                    )
                yield block
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableFileError(f"gzip stream is damaged or truncated: {exc}") from exc


def expanded(data: bytes, max_expanded_bytes: int = MAX_EXPANDED_BYTES) -> bytes:
    """`data` gunzipped when it is gzip, else as it is (bytes already in memory)."""
    if data[:2] != GZIP_MAGIC:
        return data
    return b"".join(blocks(io.BytesIO(data), max_expanded_bytes))


def read_bytes(path: Path, max_expanded_bytes: int = MAX_EXPANDED_BYTES) -> bytes:
    """The file's bytes, gunzipped when the content (not the name) says gzip (tests, small files)."""
    return expanded(path.read_bytes(), max_expanded_bytes)
