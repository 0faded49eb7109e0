"""Number formatting for reports: every figure is a string before it reaches a template."""

import math

MISSING = "–"


def _known(value: float | None) -> bool:
    """True for a finite number."""
    return value is not None and math.isfinite(value)


def mg(value: float | None) -> str:
    """Milligrams rounded to whole mg (`1,029 mg`)."""
    return f"{value:,.0f} mg" if _known(value) else MISSING


def number(value: float | None, decimals: int = 0) -> str:
    """A plain number with thousands separators."""
    return f"{value:,.{decimals}f}" if _known(value) else MISSING


def ratio(value: float | None) -> str:
    """A Ca:Mg ratio to two decimals."""
    return f"{value:.2f}" if _known(value) else MISSING


def percent(value: float | None, decimals: int = 1) -> str:
    """A share already in percent (`12.3 %`)."""
    return f"{value:.{decimals}f} %" if _known(value) else MISSING


def percent_se(value: float | None, se: float | None) -> str:
    """A percentage with its standard error (`12.3 % (SE 1.1)`)."""
    if not _known(value):
        return MISSING
    return f"{value:.1f} % (SE {se:.1f})" if _known(se) else f"{value:.1f} %"


def age_years(age_months: int | None) -> str:
    """Age as people say it: months under two years, else whole years."""
    if age_months is None:
        return MISSING
    return f"{age_months} months" if age_months < 24 else f"{age_months // 12} years"


def file_row(r: dict) -> dict[str, str]:
    """One `file_manifest` row as report text: the columns the population and quality pages share."""
    return {
        "file": r["source_file"],
        "format": r["format"] or "–",
        "status": r["status"],
        "error": r["error"] or "",
        "rows_in": number(r["rows_in"]),
        "rows_kept": number(r["rows_kept"]),
        "rows_quarantined": number(r["rows_quarantined"]),
    }
