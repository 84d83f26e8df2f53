"""Geometry of the memo's charts, computed here so templates only place shapes.

The points-by-category chart is a diverging bar chart: points gained grow right of a centre
line, points lost grow left, on one scale for every category. The coverage gauge is a ring whose
drawn arc is the evaluated share of the thesis. Coordinates are rounded to one decimal so the
same result always draws the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from screener.texts import format_percent

LABEL_WIDTH = 120  #: room left of the bars for category names
HALF_WIDTH = 170  #: the longest bar, either side of the centre line
ROW_HEIGHT = 26
BAR_HEIGHT = 16
VALUES_WIDTH = 90  #: room right of the bars for "+26 / -3"


@dataclass(frozen=True)
class ChartRow:
    label: str
    gained: int
    lost: int  #: as a positive number
    net: int
    y: float  #: top of the row's bars
    text_y: float  #: baseline of the row's text
    gain_width: float
    loss_x: float
    loss_width: float


@dataclass(frozen=True)
class ScoreChart:
    width: int
    height: int
    label_x: int  #: right edge of the category names
    centre: int  #: x of the centre line
    values_x: int  #: left edge of the value column
    bar_height: int
    scale: int  #: points drawn by the longest bar
    rows: list[ChartRow]


@dataclass(frozen=True)
class CoverageGauge:
    coverage: float  #: 0..1
    percent: str  #: "62%"
    radius: int
    circumference: float
    dash: float  #: length of the drawn arc
    level: str  #: "full" (>= 90%), "partial" (>= 50%) or "thin"


def score_chart(categories: Sequence[tuple[str, int, int]]) -> ScoreChart:
    """The chart for (label, points gained, points lost) per category."""
    scale = max([1, *(max(gained, lost) for _, gained, lost in categories)])
    centre = LABEL_WIDTH + HALF_WIDTH
    rows = []
    for index, (label, gained, lost) in enumerate(categories):
        y = 10 + index * ROW_HEIGHT
        loss_width = round(HALF_WIDTH * lost / scale, 1)
        rows.append(
            ChartRow(
                label=label,
                gained=gained,
                lost=lost,
                net=gained - lost,
                y=y,
                text_y=y + BAR_HEIGHT - 4,
                gain_width=round(HALF_WIDTH * gained / scale, 1),
                loss_x=round(centre - loss_width, 1),
                loss_width=loss_width,
            )
        )
    return ScoreChart(
        width=LABEL_WIDTH + 2 * HALF_WIDTH + VALUES_WIDTH,
        height=20 + len(rows) * ROW_HEIGHT,
        label_x=LABEL_WIDTH - 8,
        centre=centre,
        values_x=centre + HALF_WIDTH + 10,
        bar_height=BAR_HEIGHT,
        scale=scale,
        rows=rows,
    )


def coverage_gauge(coverage: float, radius: int = 36) -> CoverageGauge:
    circumference = 2 * math.pi * radius
    share = min(max(coverage, 0.0), 1.0)
    level = "full" if share >= 0.9 else "partial" if share >= 0.5 else "thin"
    return CoverageGauge(
        coverage=share,
        percent=format_percent(share),  # coverage reads the same in every output
        radius=radius,
        circumference=round(circumference, 1),
        dash=round(circumference * share, 1),
        level=level,
    )
