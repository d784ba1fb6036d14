"""Chart geometry for server-rendered inline SVG (templates/console/charts/): no JavaScript, no styles inline.

Functions here turn numbers into coordinates in a fixed viewBox (the SVG scales to its box in CSS);
templates draw them with presentation attributes and classes, which the strict Content-Security-Policy
allows. Series are told apart by pattern, dash and marker as well as colour, and every chart's page
shows its numbers as a table too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 720  # viewBox width of every full-size chart
LINE_WIDTH = 480  # line charts sit two a row on a desktop: a narrower viewBox keeps their labels legible
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 40  # margins: y labels on the left, x labels below
UNIT_NAMES = {"s": "seconds", "min": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Series:
    """One series: its key (a CSS class suffix `s-<key>`), its legend label, and its fill or stroke
    (a colour or `url(#pattern)` from templates/console/charts/defs.html)."""

    key: str
    label: str
    paint: str
    dash: str = ""  # stroke-dasharray for lines
    marker: str = "circle"  # circle | square for lines


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    paint: str
    title: str


@dataclass
class StackedBars:
    width: int
    height: int
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    series: list[Series]
    rects: list[Rect] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)

    @property
    def legend(self) -> list[Series]:
        """Top of the stack first, as the eye reads the bars."""
        return list(reversed(self.series))

    @property
    def y_label_x(self) -> float:
        return self.plot_left - 6

    @property
    def x_label_y(self) -> float:
        return self.plot_bottom + 18


def nice_max(value: float, steps: int = 4) -> tuple[float, float]:
    """(top of the axis, step): the smallest round axis holding `value` in `steps` equal steps."""
    if value <= 0:
        return float(steps), 1.0
    raw = value / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return step * steps, step


def number_label(value: float) -> str:
    """1234 -> "1,234", 2500000 -> "2.5M", 0.5 -> "0.5": short labels for axis ticks."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if value >= 10_000:
        return f"{value / 1000:.3g}k"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.2g}"


def y_ticks(bottom: float, plot_height: float, axis_max: float, step: float) -> list[Tick]:
    """A labelled grid line at every step from 0 to the top of the axis."""
    return [
        Tick(round(bottom - i * step / axis_max * plot_height, 1), number_label(i * step))
        for i in range(round(axis_max / step) + 1)
    ]


def stacked_bars(
    columns: Sequence[tuple[str, dict[str, int]]],
    series: Sequence[Series],
    *,
    height: int = 240,
    width: int = WIDTH,
    axes: bool = True,
    x_labels: int = 6,
) -> StackedBars:
    """One bar a column, its series stacked bottom-up in `series` order; about `x_labels` x labels."""
    left, right, top, bottom = (LEFT, RIGHT, TOP, BOTTOM) if axes else (0, 0, 2, 0)
    chart = StackedBars(width, height, top, height - bottom, left, width - right, list(series))
    peak = max((sum(values.values()) for _, values in columns), default=0)
    axis_max, step = nice_max(peak)
    plot_height = chart.plot_bottom - chart.plot_top
    slot = (chart.plot_right - chart.plot_left) / max(1, len(columns))
    gap = min(slot * 0.2, 6.0) if len(columns) > 1 else slot * 0.3
    every = max(1, math.ceil(len(columns) / max(1, x_labels)))
    for index, (label, values) in enumerate(columns):
        x = chart.plot_left + index * slot + gap / 2
        y = chart.plot_bottom
        for s in series:
            value = values.get(s.key, 0)
            if not value:
                continue
            h = value / axis_max * plot_height
            y -= h
            chart.rects.append(
                Rect(
                    round(x, 1),
                    round(y, 1),
                    round(slot - gap, 1),
                    round(h, 1),
                    s.paint,
                    f"{label}: {value:,} {s.label}",
                )
            )
        if index % every == 0:
            chart.x_ticks.append(Tick(round(x + (slot - gap) / 2, 1), label))
    if axes:
        chart.y_ticks = y_ticks(chart.plot_bottom, plot_height, axis_max, step)
    return chart


@dataclass(frozen=True)
class Line:
    series: Series
    path: str  # SVG path data; a gap (None) breaks the line
    points: list[tuple[float, float, str]]  # x, y, tooltip


@dataclass
class LineChart:
    width: int
    height: int
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    lines: list[Line] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    unit: str = ""

    @property
    def unit_name(self) -> str:
        return UNIT_NAMES.get(self.unit, self.unit)

    @property
    def y_label_x(self) -> float:
        return self.plot_left - 6

    @property
    def x_label_y(self) -> float:
        return self.plot_bottom + 18


def line_chart(
    x_labels: Sequence[str],
    values: Sequence[tuple[Series, Sequence[float | None]]],
    *,
    scale: float = 1.0,
    unit: str = "",
    height: int = 240,
    width: int = LINE_WIDTH,
) -> LineChart:
    """Lines over evenly spaced x labels; values are divided by `scale` for the axis (seconds -> hours)."""
    chart = LineChart(width, height, TOP, height - BOTTOM, LEFT, width - RIGHT, unit=unit)
    scaled = [[None if v is None else v / scale for v in series_values] for _, series_values in values]
    peak = max((v for line in scaled for v in line if v is not None), default=0.0)
    axis_max, step = nice_max(peak)
    plot_height = chart.plot_bottom - chart.plot_top
    count = len(x_labels)
    slot = (chart.plot_right - chart.plot_left) / max(1, count)

    def x_at(index: int) -> float:
        return chart.plot_left + slot * (index + 0.5)

    for (s, _), line in zip(values, scaled, strict=True):
        commands: list[str] = []
        points: list[tuple[float, float, str]] = []
        pen_down = False
        for index, value in enumerate(line):
            if value is None:
                pen_down = False
                continue
            x, y = x_at(index), chart.plot_bottom - value / axis_max * plot_height
            commands.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            points.append(
                (round(x, 1), round(y, 1), f"{x_labels[index]}: {s.label} {number_label(value)} {unit}".strip())
            )
            pen_down = True
        chart.lines.append(Line(s, " ".join(commands), points))
    every = max(1, math.ceil(count / 6))
    chart.x_ticks = [Tick(round(x_at(i), 1), label) for i, label in enumerate(x_labels) if i % every == 0]
    chart.y_ticks = y_ticks(chart.plot_bottom, plot_height, axis_max, step)
    return chart


@dataclass(frozen=True)
class HBar:
    """A row of a bar table: the label (a link when `href`), its value and the bar's length in percent."""

    label: str
    value: int
    percent: float
    href: str = ""


def horizontal_bars(items: Sequence[tuple[str, int, str]]) -> list[HBar]:
    """(label, value, href) rows as bars scaled to the largest value; drawn as an HTML table of links
    with a decorative SVG bar a row, so links stay reachable by keyboard and screen reader."""
    peak = max((value for _, value, _ in items), default=0) or 1
    return [HBar(label, value, round(value / peak * 100, 1), href) for label, value, href in items]


def duration_scale(seconds: float) -> tuple[float, str]:
    """(divisor, unit) that reads well for durations up to `seconds`: seconds, minutes, hours or days."""
    if seconds < 120:
        return 1.0, "s"
    if seconds < 3 * 3600:
        return 60.0, "min"
    if seconds < 3 * 86400:
        return 3600.0, "h"
    return 86400.0, "d"


def duration_label(seconds: float | None) -> str:
    """A duration in the unit that reads best: "45 s", "12 min", "3.5 h", "2.1 d"; "—" when unknown."""
    if seconds is None:
        return "—"
    divisor, unit = duration_scale(seconds)
    value = seconds / divisor
    return f"{value:.0f} {unit}" if value >= 10 or unit == "s" else f"{value:.1f} {unit}"
