"""How an unexpected error is named where a file or a study fails alone (issue 17): one line."""


def error_line(exc: BaseException) -> str:
    """An exception as one line: its type and message (newlines folded)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
