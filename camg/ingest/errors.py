"""Why a raw file cannot be read at all (its manifest row says `failed` or `empty` with the reason)."""


class UnreadableFileError(Exception):
    """The file cannot be read as delimited text at all (binary, truncated, empty)."""


class EmptyFileError(UnreadableFileError):
    """The file holds no bytes other than whitespace (manifest status `empty`, not `failed`)."""


class NotRegular(Exception):
    """The engine cannot read the file exactly as the Python parse would: parse it in Python."""


class NeedsCopy(NotRegular):
    """The engine may read the file from a plain UTF-8 copy (camg.ingest.transcode) instead.

    A line past the head is not UTF-8, or a gzip file has a record over several lines (the
    engine does not see a gzip file's line ends; the copy is not gzip).
    """
