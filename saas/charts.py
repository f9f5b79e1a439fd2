"""Charts as server-rendered SVG: data in, a finished `<svg>` and the table behind it out.

Pure Python (no Flask, no shop): a view builds a `Chart` and the `chart` macro of
`_charts.html` renders it as a figure with its table, so every figure stays readable
without JavaScript, without CSS and to a screen reader. The SVG has a viewBox and no
pixel size, so it is sharp at any size (CSS gives it `width:100%`); it carries no
`style` attribute and no `<style>`/`<script>`, which the Content-Security-Policy would
refuse: colours come from classes (the `.chart` block of each door's stylesheet), and
presentation attributes (`fill`, `stroke`) give a plain rendering without it.

Every text that reaches the SVG or the table is escaped here (labels are merchants'
and shoppers' words: product titles, referrers). Values are ints (minor units or
counts); `format_value` turns one into what people read ("$12.50", "1,204").
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Format = Callable[[int], str]

MAX_X_LABELS = 8
MAX_POINT_MARKERS = 62  # above this, markers would blur into the line
BAR_LABEL_CHARS = 28  # a longer label is cut in the SVG (the table has it whole)
FONT = 12  # in viewBox units

_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    """One line of a line chart: (x label, value) pairs in order."""

    name: str
    points: list[tuple[str, int]]


@dataclass(frozen=True)
class Chart:
    kind: str  # "line", "bar", "funnel" or "sparkline"
    title: str
    description: str
    svg: Markup
    table_headers: list[str]
    table_rows: list[list[str]]


# --- scales -----------------------------------------------------------------------------


def nice_ticks(low: int, high: int) -> list[int]:
    """Round tick values covering [min(low, 0), max(high, 0)], 0 always among them.

    Steps are 1, 2, 2.5 or 5 times a power of ten (whole numbers only), the smallest
    giving at most 5 intervals; a small range still gets 3 intervals (0, 1, 2, 3) so
    the axis reads as one. All zeros (or nothing) gives just [0]: a flat line at zero.
    """
    low, high = min(low, 0), max(high, 0)
    if low == high:
        return [0]
    step = _nice_step(low, high)
    first, last = math.floor(low / step), math.ceil(high / step)
    while last - first < 3:  # at least 3 intervals: grow on the side with data
        if high > 0:
            last += 1
        else:
            first -= 1
    return [i * step for i in range(first, last + 1)]


def _nice_step(low: int, high: int) -> int:
    for power in itertools.count():
        for multiplier in (1, 2, 2.5, 5):
            step = multiplier * 10**power
            if step != int(step):
                continue
            intervals = math.ceil(high / step) - math.floor(low / step)
            if intervals <= 5:
                return int(step)
    raise AssertionError("unreachable")  # pragma: no cover


def thin_labels(count: int, limit: int = MAX_X_LABELS, min_every: int = 1) -> list[int]:
    """Indexes of the x labels to print: every k-th (k at least `min_every`, so that
    labels do not overlap), at most `limit`, the first always."""
    if count <= 0:
        return []
    every = max(1, min_every, math.ceil(count / limit))
    return list(range(0, count, every))


def _num(value: float) -> str:
    """A coordinate, short: 12, 12.5 (one decimal is finer than any screen needs)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text_width(text: str) -> float:
    return len(text) * FONT * 0.6


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- SVG pieces ---------------------------------------------------------------------------


def _open_svg(kind: str, title: str, description: str, width: int, height: int) -> list[str]:
    uid = f"chart-{next(_ids)}"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg chart-svg-{kind}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{uid}-title {uid}-desc" font-size="{FONT}" '
        f'font-family="system-ui, sans-serif" fill="currentColor">',
        f'<title id="{uid}-title">{escape(title)}</title>',
        f'<desc id="{uid}-desc">{escape(description)}</desc>',
    ]


def _text(x: float, y: float, text: str, cls: str, anchor: str = "start") -> str:
    return (
        f'<text class="{cls}" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )


def _grid(lines: Iterable[tuple[float, float, float, float]]) -> str:
    """The light lines behind the values, one (x1, x2, y1, y2) for each tick."""
    drawn = "".join(
        f'<line x1="{_num(x1)}" x2="{_num(x2)}" y1="{_num(y1)}" y2="{_num(y2)}"/>'
        for x1, x2, y1, y2 in lines
    )
    return f'<g class="chart-grid" stroke="#dcdcd6">{drawn}</g>'


def _axis(texts: Iterable[str]) -> str:
    """The labels of the ticks (and of the x positions), each from `_text`."""
    return f'<g class="chart-axis">{"".join(texts)}</g>'


def _finish(parts: list[str]) -> Markup:
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 -- every text above went through escape()


# --- line chart ---------------------------------------------------------------------------


def line_chart(
    series: list[Series],
    *,
    title: str,
    description: str,
    format_value: Format = str,
    width: int = 640,
    height: int = 240,
    x_header: str = "Day",
) -> Chart:
    """Lines over shared x positions (point i of every series at the same x). The first
    series is the figure; a second one is the comparison period, drawn dashed."""
    count = max((len(s.points) for s in series), default=0)
    values = [v for s in series for _, v in s.points]
    ticks = nice_ticks(min(values, default=0), max(values, default=0))
    bottom_value, top_value = ticks[0], (ticks[-1] if len(ticks) > 1 else 1)
    tick_text = [format_value(t) for t in ticks]
    legend = len(series) > 1
    labels = series[0].points if series and series[0].points else []
    label_w = max((_text_width(label) for label, _ in labels), default=0)
    # x labels are centred on their point: the margins leave room for half of one.
    left = max(8 + max(_text_width(t) for t in tick_text), label_w / 2 + 2)
    right, top, bottom = max(16, label_w / 2 + 2), (30 if legend else 12), 28
    plot_w, plot_h = width - left - right, height - top - bottom
    spacing = plot_w / (count - 1) if count > 1 else plot_w

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if count <= 1 else plot_w * i / (count - 1))

    def y_at(value: int) -> float:
        return top + plot_h * (top_value - value) / (top_value - bottom_value)

    parts = _open_svg("line", title, description, width, height)
    parts.append(_grid((left, width - right, y_at(tick), y_at(tick)) for tick in ticks))
    y_labels = [
        _text(left - 6, y_at(tick) + FONT / 3, text, "chart-tick", "end")
        for tick, text in zip(ticks, tick_text, strict=True)
    ]
    x_labels = [
        _text(x_at(i), height - 8, labels[i][0], "chart-tick", "middle")
        for i in thin_labels(len(labels), min_every=math.ceil((label_w + 12) / spacing))
    ]
    parts.append(_axis(y_labels + x_labels))
    if legend:
        x = left
        for n, s in enumerate(series):
            dash = ' stroke-dasharray="6 4"' if n else ""
            parts.append(
                f'<line class="chart-key chart-series-{n}" x1="{_num(x)}" x2="{_num(x + 24)}" '
                f'y1="12" y2="12" stroke="currentColor" stroke-width="2"{dash}/>'
            )
            parts.append(_text(x + 30, 16, s.name, "chart-legend"))
            x += 30 + _text_width(s.name) + 24
    # The comparison first, so the period's own line is drawn over it.
    for n, s in reversed(list(enumerate(series))):
        if not s.points:
            continue
        points = " ".join(f"{_num(x_at(i))},{_num(y_at(v))}" for i, (_, v) in enumerate(s.points))
        dash = ' stroke-dasharray="6 4"' if n else ""
        parts.append(
            f'<polyline class="chart-line chart-series-{n}" points="{points}" fill="none" '
            f'stroke="currentColor" stroke-width="2" stroke-linejoin="round"{dash}/>'
        )
    if series and series[0].points and len(series[0].points) <= MAX_POINT_MARKERS:
        parts.append('<g class="chart-points chart-series-0">')
        for i, (label, value) in enumerate(series[0].points):
            parts.append(
                f'<circle cx="{_num(x_at(i))}" cy="{_num(y_at(value))}" r="3">'
                f"<title>{escape(label)}: {escape(format_value(value))}</title></circle>"
            )
        parts.append("</g>")

    headers, rows = _line_table(series, format_value, x_header)
    return Chart("line", title, description, _finish(parts), headers, rows)


def _line_table(
    series: list[Series], format_value: Format, x_header: str
) -> tuple[list[str], list[list[str]]]:
    """One row per x position; a series whose x labels differ from the first's (the
    comparison period's own days) gets a column for them before its values."""
    first = [label for label, _ in series[0].points] if series else []
    own_labels = [n > 0 and [label for label, _ in s.points] != first for n, s in enumerate(series)]
    headers = [x_header]
    for n, s in enumerate(series):
        if own_labels[n]:
            headers.append(f"{x_header} ({s.name})")
        headers.append(s.name)
    count = max((len(s.points) for s in series), default=0)
    rows = []
    for i in range(count):
        row = [first[i] if i < len(first) else ""]
        for n, s in enumerate(series):
            point = s.points[i] if i < len(s.points) else None
            if own_labels[n]:
                row.append(point[0] if point else "")
            row.append(format_value(point[1]) if point else "")
        rows.append(row)
    return headers, rows


# --- bar chart ----------------------------------------------------------------------------


def bar_chart(
    bars: list[tuple[str, int]],
    *,
    title: str,
    description: str,
    format_value: Format = str,
    width: int = 640,
    height: int | None = None,
    label_header: str = "Name",
    value_header: str = "Value",
) -> Chart:
    """Horizontal bars, one row each, longest label on the left; the height grows with
    the number of bars unless given. Negative values are drawn as empty bars (the table
    shows them as they are)."""
    top, bottom = 8, 24
    height = height or top + bottom + 28 * max(len(bars), 1)
    row_h = (height - top - bottom) / max(len(bars), 1)
    labels = [_cut(label, BAR_LABEL_CHARS) for label, _ in bars]
    value_text = [format_value(v) for _, v in bars]
    ticks = nice_ticks(0, max((v for _, v in bars), default=0))
    top_value = ticks[-1] if len(ticks) > 1 else 1
    left = 12 + max((_text_width(t) for t in labels), default=0)
    tick_text = [format_value(t) for t in ticks]
    right = 12 + max(
        max((_text_width(t) for t in value_text), default=0), _text_width(tick_text[-1]) / 2
    )
    plot_w = max(width - left - right, 40)

    def x_at(value: int) -> float:
        return left + plot_w * max(value, 0) / top_value

    parts = _open_svg("bar", title, description, width, height)
    parts.append(_grid((x_at(tick), x_at(tick), top, height - bottom) for tick in ticks))
    parts.append(
        _axis(
            _text(x_at(tick), height - 8, text, "chart-tick", "middle")
            for tick, text in zip(ticks, tick_text, strict=True)
        )
    )
    for i, ((label, value), short, text) in enumerate(zip(bars, labels, value_text, strict=True)):
        y = top + row_h * i
        bar_h = min(row_h * 0.7, 20)
        middle = y + row_h / 2
        parts.append(_text(left - 8, middle + FONT / 3, short, "chart-label", "end"))
        parts.append(
            f'<rect class="chart-bar" x="{_num(left)}" y="{_num(middle - bar_h / 2)}" '
            f'width="{_num(x_at(value) - left)}" height="{_num(bar_h)}" fill="currentColor">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
        )
        parts.append(_text(x_at(value) + 6, middle + FONT / 3, text, "chart-value"))
    rows = [[label, text] for (label, _), text in zip(bars, value_text, strict=True)]
    return Chart("bar", title, description, _finish(parts), [label_header, value_header], rows)


# --- funnel -------------------------------------------------------------------------------


def percent(part: int, whole: int) -> str:
    """'42.5%' (one decimal), or '—' when there is nothing to divide by."""
    return f"{100 * part / whole:.1f}%" if whole > 0 else "—"


def funnel_chart(
    steps: list[tuple[str, int]],
    *,
    title: str,
    description: str,
    format_value: Format = str,
    width: int = 640,
    step_header: str = "Step",
    value_header: str = "Count",
) -> Chart:
    """Centred bars, each as wide as its count against the widest step, with the share
    of the previous step between them. The table has both rates for every step."""
    row_h, gap, top = 34, 18, 8
    height = top * 2 + max(len(steps), 1) * (row_h + gap) - gap
    widest = max((v for _, v in steps), default=0)
    label_w = 12 + max((_text_width(_cut(s, BAR_LABEL_CHARS)) for s, _ in steps), default=0)
    plot_w = max(width - label_w - 8, 40)
    centre = label_w + plot_w / 2
    parts = _open_svg("funnel", title, description, width, height)
    rows = []
    for i, (label, value) in enumerate(steps):
        y = top + i * (row_h + gap)
        bar_w = plot_w * max(value, 0) / widest if widest > 0 else 0
        text = format_value(value)
        previous = steps[i - 1][1] if i else None
        of_previous = percent(value, previous) if previous is not None else "—"
        of_first = percent(value, steps[0][1]) if i else "—"
        parts.append(
            _text(
                label_w - 8,
                y + row_h / 2 + FONT / 3,
                _cut(label, BAR_LABEL_CHARS),
                "chart-label",
                "end",
            )
        )
        parts.append(
            f'<rect class="chart-bar chart-step" x="{_num(centre - bar_w / 2)}" y="{_num(y)}" '
            f'width="{_num(bar_w)}" height="{row_h}" fill="currentColor">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
        )
        parts.append(
            _text(centre, y + row_h / 2 + FONT / 3, text, "chart-value chart-on-bar", "middle")
        )
        if i:
            parts.append(
                _text(centre, y - gap / 2 + FONT / 3, f"↓ {of_previous}", "chart-rate", "middle")
            )
        rows.append([label, text, of_previous, of_first])
    headers = [step_header, value_header, "Of the previous step", "Of the first step"]
    return Chart("funnel", title, description, _finish(parts), headers, rows)


# --- sparkline ----------------------------------------------------------------------------


def sparkline(
    values: list[int],
    *,
    title: str,
    width: int = 120,
    height: int = 32,
    format_value: Format = str,
    labels: Sequence[str] | None = None,
) -> Chart:
    """A small line without axes (a dashboard tile's trend); its description says the
    first, last and highest values, and the table has every one."""
    low, high = min(values, default=0), max(values, default=0)
    low = min(low, 0)
    span = (high - low) or 1
    pad = 2

    def y_at(value: int) -> float:
        return height - pad - (height - 2 * pad) * (value - low) / span

    def x_at(i: int) -> float:
        return width / 2 if len(values) <= 1 else pad + (width - 2 * pad) * i / (len(values) - 1)

    if values:
        plural = "" if len(values) == 1 else "s"
        description = (
            f"{len(values)} value{plural}, from {format_value(values[0])} to "
            f"{format_value(values[-1])}; highest {format_value(high)}."
        )
    else:
        description = "No values yet."
    parts = _open_svg("sparkline", title, description, width, height)
    if values:
        points = " ".join(f"{_num(x_at(i))},{_num(y_at(v))}" for i, v in enumerate(values))
        if len(values) == 1:
            points += f" {_num(x_at(0) + 1)},{_num(y_at(values[0]))}"
        parts.append(
            f'<polyline class="chart-line chart-series-0" points="{points}" fill="none" '
            f'stroke="currentColor" stroke-width="1.5" stroke-linejoin="round"/>'
        )
    else:
        y = _num(height - pad)
        parts.append(
            f'<line class="chart-line chart-series-0" x1="{pad}" x2="{width - pad}" '
            f'y1="{y}" y2="{y}" stroke="currentColor" stroke-width="1.5"/>'
        )
    names = list(labels) if labels is not None else [str(i + 1) for i in range(len(values))]
    rows = [[name, format_value(v)] for name, v in zip(names, values, strict=False)]
    return Chart("sparkline", title, description, _finish(parts), ["Point", "Value"], rows)
