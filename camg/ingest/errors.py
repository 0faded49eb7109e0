"""Why a raw file cannot be read at all (its manifest row says `failed` or `empty` with the reason)."""


class UnreadableFileError(Exception):
    """The file cannot be read as delimited text at all (binary, truncated, empty)."""


class EmptyFileError(UnreadableFileError):
    """The file holds no bytes other than whitespace (manifest status `empty`, not `failed`)."""


class NotRegular(Exception):
    """The engine cannot read the file exactly as the Python parse would: parse it in Python."""


class NotUtf8(NotRegular):
    """A line past the file's head is not UTF-8: the engine may read a UTF-8 copy instead."""
