import pytest

from camg.report.charts import (
    Bands,
    Marker,
    RangeRow,
    intake_bar,
    range_chart,
    ratio_scale,
    share_bars,
)
from camg.report.svg import Scale, nice_max, shorten

BANDS = Bands(1.7, 2.6, 2.8)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 1.0), (0.7, 1.0), (1.2, 2.0), (2.2, 2.5), (3, 5.0), (880, 1000.0), (1001, 2000.0)],
)
def test_nice_max(value: float, expected: float) -> None:
    assert nice_max(value) == expected


def test_scale_maps_and_clamps() -> None:
    scale = Scale(100, 10, 110)
    assert scale(50) == 60  # 10 + 50 % of 100 px
    assert scale(-5) == 10
    assert scale(500) == 110


def test_shorten_keeps_short_labels() -> None:
    assert shorten("milk", 10) == "milk"
    assert shorten("a" * 20, 10) == "a" * 9 + "…"


def test_chart_text_is_escaped() -> None:
    svg = share_bars("c1", "<b>title</b>", "desc & more", [("<script>alert(1)</script>", 12.5)])
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert '<title id="c1-t">&lt;b&gt;title&lt;/b&gt;</title>' in svg
    assert 'role="img"' in svg
    assert 'aria-labelledby="c1-t c1-d"' in svg


def test_intake_bar_draws_food_supplement_and_markers() -> None:
    svg = intake_bar(
        "ca", "t", "d", 600, 400, [Marker("ear", "EAR 800", 800), Marker("ul", "UL 2,500", 2500)]
    )
    # Axis end: nice_max(2500 x 1.08 = 2700) = 5000; 600 mg of 5000 over 590 px = 70.8 px.
    assert 'width="70.8"' in svg
    assert "EAR 800" in svg
    assert "UL 2,500" in svg
    assert svg.count("<rect") == 2


def test_ratio_scale_marks_an_off_scale_ratio() -> None:
    assert "12.00 (off scale)" in ratio_scale("r", "t", "d", 12.0, BANDS)
    assert "off scale" not in ratio_scale("r", "t", "d", 2.0, BANDS)


def test_range_chart_has_one_row_per_group() -> None:
    rows = [RangeRow(f"g{i}", 100, 200, 300, 400, 500, 250, 350) for i in range(3)]
    svg = range_chart("rc", "t", "d", rows)
    assert svg.count("<circle") == 3
