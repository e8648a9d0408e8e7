"""The synthetic copies of the scaling runs: marks that can be removed exactly."""

from __future__ import annotations

import pytest

from eval.scale import copy_text, growth_exponent, mark_line, strip_marks


@pytest.mark.parametrize(
    "line",
    [
        "China produced 1,000 million tonnes of crude steel in 2020, more than half the world.",
        "  Indented prose line with enough words to be marked here.",
        "全面贯彻党的十八大和十八届三中全会精神，积极稳妥化解过剩产能。",
    ],
)
def test_a_marked_line_differs_and_unmarks_exactly(line: str) -> None:
    marked = mark_line(line, 7)
    assert marked != line and "zq7" in marked
    assert strip_marks(marked) == line


@pytest.mark.parametrize(
    "line",
    ["", "Short heading", "| 2019 | 500 | 12% | ok | row | here |", "EXHIBIT 61", "钢铁"],
)
def test_short_lines_tables_and_exhibit_lines_stay_as_they_are(line: str) -> None:
    assert mark_line(line, 3) == line


def test_a_copy_renumbers_exhibits_and_copy_zero_is_the_record() -> None:
    text = "EXHIBIT 61\n\nThe port of Tianjin handled 500 ships in 2019 and more.\n\nEXHIBIT 62\n\nShort.\n"
    assert copy_text(text, 0) == text
    copy = copy_text(text, 2)
    assert "EXHIBIT 2061" in copy and "EXHIBIT 2062" in copy and "EXHIBIT 61\n" not in copy
    assert strip_marks(copy).replace("2061", "61").replace("2062", "62") == text


@pytest.mark.parametrize(
    ("xs", "ys", "slope"),
    [([1, 10, 100], [2, 20, 200], 1.0), ([1, 10, 100], [5, 5, 5], 0.0), ([1, 100], [1, 10000], 2.0)],
)
def test_growth_exponent_is_the_log_log_slope(xs: list[float], ys: list[float], slope: float) -> None:
    assert growth_exponent(xs, ys) == pytest.approx(slope, abs=0.01)


def test_growth_exponent_needs_two_sizes() -> None:
    assert growth_exponent([10], [3]) is None
