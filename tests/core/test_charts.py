"""Server-rendered SVG charts (`saas.charts`, the `chart` macro): geometry, the table
behind each chart, escaping, and what the Content-Security-Policy and the Nu Html
Checker require of them."""

from __future__ import annotations

import itertools
import re
from xml.etree import ElementTree

import pytest

from saas.charts import (
    Chart,
    Series,
    bar_chart,
    funnel_chart,
    line_chart,
    nice_ticks,
    sparkline,
    thin_labels,
)
from saas.money import format_money

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"


def usd(cents: int) -> str:
    return format_money(cents, "USD")


def parse(chart: Chart) -> ElementTree.Element:
    """The SVG as XML: it must be well formed on its own."""
    return ElementTree.fromstring(str(chart.svg))  # noqa: S314 -- our own output


def texts(root: ElementTree.Element, cls: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if cls in t.get("class", "").split()]


def assert_csp_safe(chart: Chart) -> None:
    svg = str(chart.svg)
    assert not re.search(r"\sstyle\s*=", svg), "inline style attribute"
    assert "<style" not in svg and "<script" not in svg and "javascript:" not in svg
    root = parse(chart)
    assert root.get("role") == "img"
    assert root.get("width") is None and root.get("height") is None  # scales with CSS
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox", ""))
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == chart.title and desc.text == chart.description


# --- scales --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0, 101, [0, 25, 50, 75, 100, 125]),
        (0, 7, [0, 2, 4, 6, 8]),
        (0, 1, [0, 1, 2, 3]),
        (0, 0, [0]),
        (3, 3, [0, 1, 2, 3]),
        (0, 123_456, [0, 25_000, 50_000, 75_000, 100_000, 125_000]),
        (0, 999_999_999, [0, 200_000_000, 400_000_000, 600_000_000, 800_000_000, 1_000_000_000]),
        (-50, 120, [-50, 0, 50, 100, 150]),
        (-30, -10, [-30, -20, -10, 0]),
    ],
)
def test_ticks_are_round_and_include_zero(low, high, ticks):
    assert nice_ticks(low, high) == ticks
    if high > low:
        assert 4 <= len(ticks) <= 6  # zero and 3 to 5 ticks


def test_x_labels_are_thinned_to_eight():
    assert thin_labels(0) == []
    assert thin_labels(5) == [0, 1, 2, 3, 4]
    assert thin_labels(8) == list(range(8))
    assert thin_labels(30) == [0, 4, 8, 12, 16, 20, 24, 28]
    assert len(thin_labels(365)) <= 8
    assert thin_labels(10, min_every=3) == [0, 3, 6, 9]  # wide labels: fewer of them


# --- line chart ----------------------------------------------------------------------


def thirty_days(scale: int) -> list[tuple[str, int]]:
    return [(f"2025-01-{d:02d}", d * scale) for d in range(1, 31)]


def test_line_chart_with_a_dashed_comparison_and_its_table():
    current = Series("Last 30 days", thirty_days(1000))
    previous = Series("Previous 30 days", [(f"2024-12-{d:02d}", 500) for d in range(2, 32)])
    chart = line_chart(
        [current, previous], title="GMV per day", description="GMV, USD.", format_value=usd
    )
    assert chart.kind == "line"
    assert_csp_safe(chart)
    root = parse(chart)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2
    dashed = [p for p in lines if p.get("stroke-dasharray")]
    assert len(dashed) == 1 and "chart-series-1" in dashed[0].get("class", "")
    # The period's line is drawn last, over the comparison.
    assert "chart-series-0" in lines[-1].get("class", "")
    y_ticks = [t for t in texts(root, "chart-tick") if t.startswith("$")]
    assert y_ticks == ["$0.00", "$100.00", "$200.00", "$300.00"]
    x_labels = [t for t in root.iter(f"{SVG}text") if (t.text or "").startswith("2025")]
    assert 4 <= len(x_labels) <= 8 and x_labels[0].text == "2025-01-01"
    # Centred on their points, far enough apart not to overlap (~7.2 units a character).
    xs = [float(t.get("x", 0)) for t in x_labels]
    assert all(b - a > 10 * 7.2 for a, b in itertools.pairwise(xs))
    assert xs[0] - 5 * 7.2 >= 0 and xs[-1] + 5 * 7.2 <= 640
    assert texts(root, "chart-legend") == ["Last 30 days", "Previous 30 days"]
    # Every value is in the table, formatted, with the comparison's own days.
    assert chart.table_headers == [
        "Day",
        "Last 30 days",
        "Day (Previous 30 days)",
        "Previous 30 days",
    ]
    assert len(chart.table_rows) == 30
    assert chart.table_rows[0] == ["2025-01-01", "$10.00", "2024-12-02", "$5.00"]
    assert chart.table_rows[-1] == ["2025-01-30", "$300.00", "2024-12-31", "$5.00"]


def test_line_chart_ticks_reach_above_the_highest_value():
    chart = line_chart(
        [Series("Orders", [("Mon", 3), ("Tue", 17), ("Wed", 9)])],
        title="Orders",
        description="Orders per day.",
    )
    root = parse(chart)
    assert texts(root, "chart-tick") == ["0", "5", "10", "15", "20", "Mon", "Tue", "Wed"]
    # The highest point sits below the top gridline, the lowest value above zero's.
    ys = [float(c.get("cy", 0)) for c in root.iter(f"{SVG}circle")]
    grid = sorted(float(line.get("y1", 0)) for line in root.find(f"{SVG}g").iter(f"{SVG}line"))
    assert grid[0] < min(ys) and max(ys) < grid[-1]
    assert chart.table_headers == ["Day", "Orders"]
    assert chart.table_rows == [["Mon", "3"], ["Tue", "17"], ["Wed", "9"]]


@pytest.mark.parametrize(
    "series",
    [[], [Series("Sales", [])], [Series("Sales", [("a", 0), ("b", 0), ("c", 0)])]],
)
def test_line_chart_without_data_is_flat_at_zero(series):
    chart = line_chart(series, title="Sales", description="Nothing yet.", format_value=usd)
    assert_csp_safe(chart)
    root = parse(chart)
    assert texts(root, "chart-tick")[:1] == ["$0.00"]
    for line in root.iter(f"{SVG}polyline"):
        ys = {point.split(",")[1] for point in line.get("points", "").split()}
        assert len(ys) == 1  # flat
    assert all(n not in str(chart.svg) for n in ("nan", "inf"))


def test_one_point_is_centred():
    chart = line_chart([Series("Sales", [("Today", 5)])], title="t", description="d")
    circle = parse(chart).find(f".//{SVG}circle")
    assert circle is not None and float(circle.get("cx", 0)) > 100


# --- bar chart and funnel ------------------------------------------------------------


def test_bar_chart_grows_with_its_bars():
    few = bar_chart([("A", 1), ("B", 2)], title="t", description="d")
    many = bar_chart([(f"Shop {n}", n) for n in range(10)], title="t", description="d")

    def height(chart: Chart) -> int:
        return int(parse(chart).get("viewBox", "").split()[3])

    assert height(many) > height(few)
    assert bar_chart([], title="t", description="d").table_rows == []


def test_bar_chart_widths_are_proportional_and_the_table_has_every_value():
    chart = bar_chart(
        [("Mugs", 40_000), ("Teapots", 10_000), ("Refunds only", 0)],
        title="Top products",
        description="By revenue.",
        format_value=usd,
        label_header="Product",
        value_header="Revenue",
    )
    assert_csp_safe(chart)
    root = parse(chart)
    widths = [float(r.get("width", 0)) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == pytest.approx(4 * widths[1], rel=0.01) and widths[2] == 0
    assert texts(root, "chart-value") == ["$400.00", "$100.00", "$0.00"]
    assert chart.table_headers == ["Product", "Revenue"]
    assert chart.table_rows == [
        ["Mugs", "$400.00"],
        ["Teapots", "$100.00"],
        ["Refunds only", "$0.00"],
    ]


def test_long_labels_are_cut_in_the_svg_only():
    name = "A very long product name that would push the bars off the chart"
    chart = bar_chart([(name, 3)], title="t", description="d")
    label = texts(parse(chart), "chart-label")[0]
    assert label.endswith("…") and len(label) <= 28
    assert chart.table_rows == [[name, "3"]]


def test_funnel_rates_against_previous_and_first_step():
    chart = funnel_chart(
        [("Sessions", 200), ("Viewed a product", 80), ("Added to cart", 20), ("Ordered", 0),
         ("Paid", 0)],
        title="Funnel",
        description="Sessions to orders.",
        format_value=lambda n: f"{n:,}",
    )  # fmt: skip
    assert chart.kind == "funnel"
    assert_csp_safe(chart)
    assert chart.table_headers == ["Step", "Count", "Of the previous step", "Of the first step"]
    assert chart.table_rows == [
        ["Sessions", "200", "—", "—"],
        ["Viewed a product", "80", "40.0%", "40.0%"],
        ["Added to cart", "20", "25.0%", "10.0%"],
        ["Ordered", "0", "0.0%", "0.0%"],
        ["Paid", "0", "—", "0.0%"],  # nothing to divide by
    ]
    widths = [float(r.get("width", 0)) for r in parse(chart).iter(f"{SVG}rect")]
    assert widths[1] == pytest.approx(0.4 * widths[0], rel=0.01)
    empty = funnel_chart([("Sessions", 0), ("Ordered", 0)], title="t", description="d")
    assert empty.table_rows[1] == ["Ordered", "0", "—", "—"]


def test_sparkline():
    chart = sparkline([0, 5, 10, 5], title="Sales, 30 days", format_value=usd)
    assert chart.kind == "sparkline"
    assert_csp_safe(chart)
    assert chart.description == "4 values, from $0.00 to $0.05; highest $0.10."
    assert chart.table_rows == [["1", "$0.00"], ["2", "$0.05"], ["3", "$0.10"], ["4", "$0.05"]]
    assert_csp_safe(sparkline([], title="Nothing"))
    assert_csp_safe(sparkline([7], title="One"))
    labelled = sparkline([1, 2], title="t", labels=["Mon", "Tue"])
    assert labelled.table_rows == [["Mon", "1"], ["Tue", "2"]]


# --- escaping and the page -----------------------------------------------------------


def hostile_charts() -> list[Chart]:
    return [
        line_chart(
            [Series(HOSTILE, [(HOSTILE, 1)]), Series("Before", [("x", 2)])],
            title=HOSTILE,
            description=HOSTILE,
            format_value=lambda v: f"<b>{v}</b>",
        ),
        bar_chart([(HOSTILE, 5)], title=HOSTILE, description=HOSTILE),
        funnel_chart([(HOSTILE, 5), ("b", 1)], title=HOSTILE, description=HOSTILE),
        sparkline([1, 2], title=HOSTILE),
    ]


def test_hostile_labels_are_escaped_in_the_svg():
    for chart in hostile_charts():
        svg = str(chart.svg)
        assert "<script" not in svg and "<b>" not in svg
        assert "&lt;script&gt;" in svg
        root = parse(chart)  # still well-formed: nothing broke out of an attribute
        assert root.find(f"{SVG}title").text == HOSTILE  # type: ignore[union-attr]


def render_page(app, charts: list[Chart], inline: list[Chart] = ()) -> str:
    """A page with each chart as a figure, and each of `inline` as a bare SVG."""
    template = app.jinja_env.from_string(
        '{% from "_charts.html" import chart, chart_svg %}<!doctype html>'
        '<html lang="en"><head><meta charset="utf-8"><title>Charts</title></head><body><main>'
        "{% for c in charts %}{{ chart(c) }}{% endfor %}"
        "<p>Sales {% for c in inline %}{{ chart_svg(c) }}{% endfor %}</p></main></body></html>"
    )
    with app.app_context():
        return template.render(charts=charts, inline=inline)


def test_the_macro_renders_a_figure_with_an_accessible_table(app):
    chart = bar_chart([("Mugs", 1250)], title="Top products", description="d", format_value=usd)
    html = render_page(app, [chart])
    assert '<figure class="chart chart-kind-bar">' in html
    assert "<figcaption>Top products</figcaption>" in html
    assert "<summary>Show the figures as a table</summary>" in html
    assert "<caption>Top products</caption>" in html
    assert '<th scope="col">Name</th><th scope="col">Value</th>' in html
    assert '<tr><th scope="row">Mugs</th><td>$12.50</td></tr>' in html
    empty = render_page(app, [bar_chart([], title="None", description="d")])
    assert '<td colspan="2">No figures yet.</td>' in empty


def test_hostile_labels_are_escaped_on_the_page(app):
    html = render_page(app, hostile_charts())
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;quoted&#39;" in html


def test_pages_with_charts_are_valid_html_and_need_no_inline_style(app, tmp_path):
    from saas.security import content_security_policy
    from tests.shop.test_html_valid import assert_valid, check_html, checker_command

    charts = [
        *hostile_charts(),
        line_chart([Series("Sales", thirty_days(7))], title="Sales", description="d"),
        line_chart([], title="Empty", description="d"),
        bar_chart([], title="No bars", description="d"),
    ]
    html = render_page(app, charts, inline=[sparkline([1, 3, 2], title="Sales, 3 days")])
    # Nothing inline for the policy to allow: no hashes needed, no style attributes.
    policy = content_security_policy(html.encode())
    assert "sha256-" not in policy and "style-src 'self';" in policy
    assert not re.search(r"\sstyle\s*=", html)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # two charts never share an id
    command = checker_command()  # skips without the Nu Html Checker
    assert_valid(check_html(command, {"charts": html}, tmp_path / "pages"), ["charts"])
