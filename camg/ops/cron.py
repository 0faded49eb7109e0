"""Cron expressions: the schedule setting -> a reason it is wrong, or none (checked before serving).

Why camg checks it itself: Prefect only parses the schedule when the deployment is registered, after
the Prefect server has started, and then fails with a traceback. The standard five fields are
accepted (minute hour day-of-month month day-of-week) with `*`, lists, ranges, steps and the
English month and weekday names, which every cron Prefect uses understands.
"""

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (field name, lowest, highest, names for the values from `lowest` on)
FIELDS = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, WEEKDAYS),
]


def field_value(text: str, low: int, high: int, names: list[str]) -> int:
    """One value of a field as a number (a name counts from `low`); ValueError when outside."""
    lowered = text.lower()
    value = (
        names.index(lowered) + low if lowered in names else int(text) if text.isdigit() else None
    )
    if value is None or not low <= value <= high:
        raise ValueError(f"{text!r} is not a value from {low} to {high}")
    return value


def check_part(part: str, low: int, high: int, names: list[str]) -> None:
    """One comma-separated part of a field: `*`, `a`, `a-b`, each with an optional `/step`."""
    span, _, step = part.partition("/")
    if step and not (step.isdigit() and 0 < int(step) <= high):
        raise ValueError(f"step {step!r} is not a whole number from 1 to {high}")
    if span == "*":
        return
    first, dash, last = span.partition("-")
    start = field_value(first, low, high, names)
    if dash and field_value(last, low, high, names) < start:
        raise ValueError(f"range {span!r} runs backwards")


def cron_problem(expression: str) -> str:
    """Why `expression` is not a five-field cron schedule ("" when it is one)."""
    parts = expression.split()
    if len(parts) != len(FIELDS):
        return f"needs 5 fields (minute hour day month weekday), got {len(parts)}"
    for text, (name, low, high, names) in zip(parts, FIELDS, strict=True):
        try:
            for part in text.split(","):
                check_part(part, low, high, names)
        except ValueError as exc:
            return f"{name} field {text!r}: {exc}"
    return ""
