"""SVG building blocks for the report charts: escaped text, scales and the accessible wrapper.

Charts are hand-built SVG strings (no matplotlib): fast enough for thousands of participant reports,
byte-identical for identical data, and every piece of text passes through `markupsafe.escape`.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""


def text(
    x: float, y: float, content: str, size: int = 12, anchor: str = "start", **attrs: str
) -> str:
    """An escaped SVG text element."""
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{escape(content)}</text>"
    )


def rect(x: float, y: float, width: float, height: float, fill: str, **attrs: str) -> str:
    """A filled rectangle (negative sizes clamp to 0)."""
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{max(height, 0):.1f}"'
        f' fill="{fill}"{extra}/>'
    )


def line(x1: float, y1: float, x2: float, y2: float, stroke: str, **attrs: str) -> str:
    """A straight line."""
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"{extra}/>'
    )


def nice_max(value: float) -> float:
    """A round axis end at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def ticks(axis_max: float, count: int = 5) -> list[float]:
    """Evenly spaced tick values from 0 to the axis end."""
    return [axis_max * i / count for i in range(count + 1)]


def tick_label(value: float) -> str:
    """A tick value without needless decimals (1,000 / 2.5)."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


@dataclass(frozen=True)
class Scale:
    """A linear x scale from data values to pixels."""

    domain_max: float
    left: float
    right: float

    def __call__(self, value: float) -> float:
        """Pixel position of a value, clamped to the axis."""
        share = min(max(value / self.domain_max, 0.0), 1.0) if self.domain_max else 0.0
        return self.left + share * (self.right - self.left)


def x_axis(scale: Scale, y: float, unit: str, count: int = 5) -> list[str]:
    """Tick marks and labels along the bottom of a chart."""
    parts = [line(scale.left, y, scale.right, y, "#555")]
    for value in ticks(scale.domain_max, count):
        x = scale(value)
        parts.append(line(x, y, x, y + 4, "#555"))
        parts.append(text(x, y + 16, tick_label(value), size=11, anchor="middle", fill="#333"))
    parts.append(text(scale.right, y + 30, unit, size=11, anchor="end", fill="#333"))
    return parts


def shorten(label: str, limit: int) -> str:
    """A label cut to `limit` characters with an ellipsis (the full text is in the table)."""
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def figure(
    chart_id: str, width: int, height: int, title: str, desc: str, parts: Sequence[str]
) -> Markup:
    """The accessible SVG element: role=img, a title and a description that say what it shows."""
    safe_id = escape(chart_id)
    body = "".join(parts)
    return Markup(
        f'<svg class="chart" id="{safe_id}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-labelledby="{safe_id}-t {safe_id}-d" xmlns="http://www.w3.org/2000/svg" {FONT}>'
        f'<title id="{safe_id}-t">{escape(title)}</title><desc id="{safe_id}-d">{escape(desc)}</desc>'
        f"{body}</svg>"
    )
