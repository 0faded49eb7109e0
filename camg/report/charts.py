"""Report charts: pre-computed view numbers -> inline SVG (intake bars, ratio scale, ranges, bars)."""

from dataclasses import dataclass

from markupsafe import Markup

from camg.report.svg import Scale, figure, line, nice_max, rect, shorten, text, x_axis

FOOD_COLOUR = "#1f5f99"
SUPPLEMENT_COLOUR = "#b35900"
MARKER_COLOURS = {"ear": "#444444", "rda": "#000000", "ai": "#000000", "ul": "#b00020"}
# Band fills, lightest to warmest: below the low edge, optimal, upper, above the high edge.
BAND_FILLS = ("#fde2b8", "#c8e6c9", "#fff3b0", "#f8c4c0")


@dataclass(frozen=True)
class Marker:
    """A reference line on an intake axis (EAR, RDA or AI, UL)."""

    kind: str
    label: str
    value: float


@dataclass(frozen=True)
class Bands:
    """The Ca:Mg ratio band edges (mass ratio) from the rules table."""

    low: float
    optimal_high: float
    high: float


def intake_bar(
    chart_id: str,
    title: str,
    desc: str,
    food_mg: float,
    supplement_mg: float,
    markers: list[Marker],
) -> Markup:
    """One person's daily intake as a food + supplement bar against their DRI lines."""
    width, height = 640, 120
    top = max([food_mg + supplement_mg, *[m.value for m in markers]])
    scale = Scale(nice_max(top * 1.08), 20, width - 30)
    parts = [
        rect(scale(0), 48, scale(food_mg) - scale(0), 26, FOOD_COLOUR),
        rect(
            scale(food_mg),
            48,
            scale(food_mg + supplement_mg) - scale(food_mg),
            26,
            SUPPLEMENT_COLOUR,
        ),
    ]
    last_x, row = -1000.0, 0
    for marker in sorted(markers, key=lambda m: m.value):
        x = scale(marker.value)
        row = 1 - row if x - last_x < 110 else 0
        last_x = x
        colour = MARKER_COLOURS.get(marker.kind, "#000000")
        dash = {"stroke_dasharray": "4 3"} if marker.kind == "ear" else {}
        parts.append(line(x, 30 - 14 * row, x, 80, colour, stroke_width="2", **dash))
        parts.append(text(x, 26 - 14 * row, marker.label, size=11, anchor="middle", fill=colour))
    parts += x_axis(scale, 88, "mg per day")
    return figure(chart_id, width, height, title, desc, parts)


def ratio_scale(chart_id: str, title: str, desc: str, ratio: float | None, bands: Bands) -> Markup:
    """A Ca:Mg ratio axis with the bands shaded and the person's ratio marked."""
    width, height = 640, 110
    axis_max = max(4.0, float(int((ratio or 0) + 1.0)))
    scale = Scale(min(axis_max, 8.0), 20, width - 30)
    edges = [0.0, bands.low, bands.optimal_high, bands.high, scale.domain_max]
    parts = [
        rect(scale(lo), 40, scale(hi) - scale(lo), 30, fill)
        for lo, hi, fill in zip(edges, edges[1:], BAND_FILLS, strict=False)
    ]
    for edge in edges[1:4]:
        parts.append(line(scale(edge), 36, scale(edge), 74, "#333"))
    parts += [
        text(scale(bands.low / 2), 59, "low", size=11, anchor="middle"),
        text(scale((bands.low + bands.optimal_high) / 2), 59, "optimal", size=11, anchor="middle"),
        text(
            scale(min(bands.high * 1.4, scale.domain_max * 0.92)),
            59,
            "high",
            size=11,
            anchor="middle",
        ),
    ]
    if ratio is not None:
        x = scale(ratio)
        parts.append(f'<path d="M{x - 7:.1f},22 L{x + 7:.1f},22 L{x:.1f},36 Z" fill="#000"/>')
        parts.append(line(x, 36, x, 74, "#000", stroke_width="3"))
        label = f"{ratio:.2f}" + (" (off scale)" if ratio > scale.domain_max else "")
        parts.append(text(x, 16, label, size=12, anchor="middle", font_weight="bold"))
    parts += x_axis(scale, 78, "Ca:Mg mass ratio", count=int(scale.domain_max))
    return figure(chart_id, width, height, title, desc, parts)


@dataclass(frozen=True)
class RangeRow:
    """One group's intake percentiles with its EAR and RDA (or AI)."""

    label: str
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float
    ear: float | None
    rda: float | None


def range_chart(chart_id: str, title: str, desc: str, rows: list[RangeRow]) -> Markup:
    """Percentile ranges by group (5-95 line, 25-75 box, median dot) with EAR and RDA ticks."""
    width, label_w, row_h = 720, 200, 30
    height = 60 + row_h * len(rows)
    top = max([0.0, *[max(r.p95, r.rda or 0, r.ear or 0) for r in rows]])
    scale = Scale(nice_max(top * 1.05), label_w, width - 20)
    parts = []
    for i, row in enumerate(rows):
        y = 24 + i * row_h
        parts.append(text(label_w - 8, y + 4, shorten(row.label, 30), size=12, anchor="end"))
        parts.append(line(scale(row.p5), y, scale(row.p95), y, "#6b8fb3", stroke_width="2"))
        parts.append(rect(scale(row.p25), y - 8, scale(row.p75) - scale(row.p25), 16, FOOD_COLOUR))
        parts.append(
            f'<circle cx="{scale(row.p50):.1f}" cy="{y:.1f}" r="4" fill="#fff" stroke="#000"/>'
        )
        if row.ear is not None:
            parts.append(
                line(scale(row.ear), y - 12, scale(row.ear), y + 12, "#b00020", stroke_width="3")
            )
        if row.rda is not None:
            x = scale(row.rda)
            parts.append(
                f'<path d="M{x - 5:.1f},{y - 13:.1f} L{x + 5:.1f},{y - 13:.1f} '
                f'L{x:.1f},{y - 5:.1f} Z" fill="#000"/>'
            )
    parts += x_axis(scale, 14 + row_h * len(rows), "mg per day")
    return figure(chart_id, width, height, title, desc, parts)


def ratio_histogram(
    chart_id: str, title: str, desc: str, bins: list[tuple[float, float, float]], bands: Bands
) -> Markup:
    """Share of persons per ratio bin (bins: lower edge, upper edge, percent), bands shaded behind."""
    width, height, base = 720, 240, 190
    x_max = bins[-1][1] if bins else 6.0
    scale = Scale(x_max, 50, width - 20)
    y_max = nice_max(max([1.0, *[pct for _, _, pct in bins]]))
    edges = [0.0, bands.low, bands.optimal_high, bands.high, x_max]
    parts = [
        rect(scale(lo), 20, scale(hi) - scale(lo), base - 20, fill, opacity="0.7")
        for lo, hi, fill in zip(edges, edges[1:], BAND_FILLS, strict=False)
    ]
    for lo, hi, pct in bins:
        bar_h = (base - 20) * pct / y_max
        parts.append(
            rect(scale(lo) + 1, base - bar_h, scale(hi) - scale(lo) - 2, bar_h, FOOD_COLOUR)
        )
    for edge in edges[1:4]:
        parts.append(line(scale(edge), 14, scale(edge), base, "#333", stroke_dasharray="3 2"))
        parts.append(text(scale(edge), 12, f"{edge:.1f}", size=11, anchor="middle"))
    parts.append(text(8, 24, f"{y_max:.0f} %", size=11))
    parts.append(text(8, base, "0 %", size=11))
    parts += x_axis(
        scale, base, "Ca:Mg mass ratio (last bin: this value and above)", count=int(x_max)
    )
    return figure(chart_id, width, height, title, desc, parts)


def share_bars(chart_id: str, title: str, desc: str, rows: list[tuple[str, float]]) -> Markup:
    """Horizontal bars: each food's percent share of the group's intake."""
    width, label_w, row_h = 720, 300, 22
    height = 40 + row_h * len(rows)
    scale = Scale(nice_max(max([1.0, *[pct for _, pct in rows]])), label_w, width - 60)
    parts = []
    for i, (label, pct) in enumerate(rows):
        y = 10 + i * row_h
        parts.append(text(label_w - 8, y + 13, shorten(label, 44), size=12, anchor="end"))
        parts.append(rect(scale(0), y + 2, scale(pct) - scale(0), row_h - 6, FOOD_COLOUR))
        parts.append(text(scale(pct) + 4, y + 14, f"{pct:.1f} %", size=11))
    parts.append(line(label_w, 8, label_w, 10 + row_h * len(rows), "#555"))
    return figure(chart_id, width, height, title, desc, parts)
