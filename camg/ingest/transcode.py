"""Ingest fast path, encodings: a Latin-1 (or partly Latin-1) file -> a UTF-8 copy the engine reads.

Why: the engine reads strict UTF-8 only, and exports from older Windows tools are Latin-1 or
Windows-1252 (a file's head may be plain ASCII and a line far down Latin-1: the engine meets it
there, and the file is read again from a copy). camg's Python parse decodes such a file line by
line (camg.ingest.lines.LineDecoder: UTF-8 when a line is valid UTF-8, else Latin-1, so no line
is mojibake). Writing exactly that text back as UTF-8 keeps every line end where it was, so the
engine's records, line numbers and raw text are the Python parse's; the manifest keeps the
encoding the decoder names. The copy lives beside the file's cache entry (the run's own folder),
is named by this process alone (never by the file's name), and is removed once read.
"""

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from camg.ingest import source
from camg.ingest.errors import NotRegular, UnreadableFileError
from camg.ingest.lines import LineDecoder

# Encodings (as LineDecoder names them from the file's first segment) the engine reads as they are.
ENGINE_ENCODINGS = ("utf-8", "utf-8-sig")
# Encodings whose files are copied to UTF-8 first.
TRANSCODED_ENCODINGS = ("latin-1", "utf-8+latin-1")
COPY_NUMBERS = itertools.count()


def transcode(path: str, target: Path, max_expanded_bytes: int, max_bytes: int) -> str:
    """`path`'s text (gunzipped, decoded as LineDecoder does) written to `target` as UTF-8.

    Returns the encoding the decoder names for the whole file. NotRegular past `max_bytes` of
    UTF-8 (what the engine would hold) or for anything the Python parse should report itself.
    """
    decoder, written = LineDecoder(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(path, "rb") as raw, os.fdopen(fd, "wb") as out:
        try:
            for segment in decoder.segments(source.blocks(raw, max_expanded_bytes)):
                data = segment.encode("utf-8")
                written += len(data)
                if written > max_bytes:
                    raise NotRegular("the UTF-8 copy would be larger than the engine holds")
                out.write(data)
        except (UnreadableFileError, UnicodeError) as exc:
            raise NotRegular(f"cannot copy the file as UTF-8: {exc}") from exc
    return decoder.encoding


@contextmanager
def utf8_file(
    path: str,
    encoding: str,
    scratch: Path | None,
    limits: tuple[int, int],
    copy: bool = False,
) -> Iterator[tuple[str, str]]:
    """(a path to the file's text as UTF-8, the file's encoding name).

    The file itself when its head is UTF-8 (unless `copy`: a later line was not), else a UTF-8
    copy under `scratch`, removed on leaving. `limits`: the expanded bytes read, the copy's bytes.
    NotRegular with no scratch folder, or for an encoding the copy does not handle (UTF-16).
    """
    if encoding in ENGINE_ENCODINGS and not copy:
        yield path, encoding
        return
    if encoding not in (*TRANSCODED_ENCODINGS, *ENGINE_ENCODINGS) or scratch is None:
        raise NotRegular(f"{encoding} text: read by the Python parse")
    target = scratch / f".utf8-copy.{os.getpid()}.{next(COPY_NUMBERS)}.tmp"
    try:
        final = transcode(path, target, *limits)
        yield str(target), final
    finally:
        target.unlink(missing_ok=True)
