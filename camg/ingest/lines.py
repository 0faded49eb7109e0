"""Ingest helper: a stream of byte blocks -> text segments of whole lines, decoded line by line.

The delimited reader never holds a whole file: bytes arrive in blocks (camg.ingest.source), and
leave here as text segments that end at a line end, each about a block long, so memory follows
the block and the longest line, not the file. The encoding is decided per line (issue 17): a file
that is valid UTF-8 is read as UTF-8; otherwise each line is UTF-8 when it is valid UTF-8 and
Latin-1 (which decodes any byte) when not, so no line is ever mojibake. A block whose lines are
all valid UTF-8 is decoded at once (the common case costs one decode per block).
"""

import codecs
import re
from collections.abc import Iterable, Iterator

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# A character past ASCII that came from valid UTF-8 (a byte that is not, decoded with
# surrogateescape, is a lone surrogate U+DC80..U+DCFF).
VALID_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")


class LineDecoder:
    """Decodes a byte stream into text segments and remembers which encodings its lines needed."""

    def __init__(self) -> None:
        """Nothing decoded yet."""
        self.bom: str | None = None  # utf-8-sig or utf-16 when the stream starts with a BOM
        self.latin1_lines = False  # some line was not valid UTF-8
        self.utf8_lines = False  # some line was valid UTF-8 and not ASCII

    @property
    def encoding(self) -> str:
        """The encoding name of what was decoded so far (final once the stream is read)."""
        if self.bom is not None:
            return self.bom
        if not self.latin1_lines:
            return "utf-8"
        return "utf-8+latin-1" if self.utf8_lines else "latin-1"

    def segments(self, blocks: Iterable[bytes]) -> Iterator[str]:
        """Text of whole lines (the last may lack its line end), block by block."""
        blocks = iter(blocks)
        first = b""
        for block in blocks:  # enough bytes to see a BOM
            first += block
            if len(first) >= len(UTF8_BOM):
                break
        if first[:2] in UTF16_BOMS:
            self.bom = "utf-16"
            yield from utf16_segments(first, blocks)
            return
        if first.startswith(UTF8_BOM):
            self.bom, first = "utf-8-sig", first[len(UTF8_BOM) :]
        for data in line_blocks(first, blocks):
            yield self.decoded(data)

    def decoded(self, data: bytes) -> str:
        """A block of whole lines as text (per line when the block is not valid UTF-8)."""
        if self.bom is not None:
            return data.decode("utf-8", errors="replace")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return self.latin1_block(data)
        self.utf8_lines = self.utf8_lines or not text.isascii()
        return text

    def latin1_block(self, data: bytes) -> str:
        """A block with some line not valid UTF-8: each line as `decoded_line` decodes it.

        When no line holds a valid non-ASCII UTF-8 character (a plain Latin-1 export), every
        line with a byte past ASCII is Latin-1 and the rest ASCII: the whole block decodes as
        Latin-1 at once, with the same text as line by line.
        """
        escaped = data.decode("utf-8", errors="surrogateescape")
        if VALID_NON_ASCII.search(escaped) is None:
            self.latin1_lines = True
            return data.decode("latin-1")
        return "\n".join(self.decoded_line(line) for line in data.split(b"\n"))

    def decoded_line(self, line: bytes) -> str:
        """One line: UTF-8 when valid, else Latin-1."""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            self.latin1_lines = True
            return line.decode("latin-1")
        self.utf8_lines = self.utf8_lines or not text.isascii()
        return text


def line_blocks(first: bytes, blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The bytes cut after the last line end of each block (the rest waits for the next block)."""
    carry = first
    for block in blocks:
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        carry = data[cut:]
    if carry or not first:
        yield carry


def utf16_segments(first: bytes, blocks: Iterator[bytes]) -> Iterator[str]:
    """UTF-16 (with its BOM) decoded incrementally, cut after each block's last line end.

    Strict: a stream that is not UTF-16 raises UnicodeDecodeError (the file then fails).
    """
    decoder = codecs.getincrementaldecoder("utf-16")()
    carry = decoder.decode(first)
    for block in blocks:
        text = carry + decoder.decode(block)
        cut = text.rfind("\n") + 1
        if cut:
            yield text[:cut]
        carry = text[cut:]
    yield carry + decoder.decode(b"", final=True)
