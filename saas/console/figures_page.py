"""The console's "Figures" page: the platform's GMV and orders per day against the
previous period, active shops, top shops by GMV, and the per-day figures as CSV.

The figures are `saas.console.figures` (one read of every shop's orders per page); the
charts are `saas.charts`. This module only turns one into the other.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, render_template
from flask_login import login_required

from saas.charts import Chart, Series, bar_chart, line_chart
from saas.console import bp
from saas.console.figures import PERIOD_DAYS, TOP_SHOPS, PlatformFigures, figures_csv
from saas.console.figures import platform_figures as read_figures
from saas.money import format_money


def money_format(currency: str) -> Callable[[int], str]:
    return lambda cents: format_money(cents, currency.upper())


def change(current: int, previous: int) -> str:
    """'+12.5%', '-3.0%', or '—' when the previous period had nothing."""
    if previous <= 0:
        return "—"
    delta = 100 * (current - previous) / previous
    return f"{delta:+.1f}%"


def figure_charts(figures: PlatformFigures) -> dict[str, Chart]:
    main = figures.main_currency or "USD"
    money = money_format(main)
    current, previous = f"Last {PERIOD_DAYS} days", f"Previous {PERIOD_DAYS} days"
    pairs = list(zip(figures.days, figures.previous_days, strict=True))
    gmv = line_chart(
        [
            Series(current, [(d.isoformat(), figures.gmv(d, main)) for d, _ in pairs]),
            Series(previous, [(p.isoformat(), figures.gmv(p, main)) for _, p in pairs]),
        ],
        title=f"GMV per day in {main}",
        description=(
            f"Gross merchandise value of orders in {main} per UTC day over the last "
            f"{PERIOD_DAYS} days (solid line), with the {PERIOD_DAYS} days before "
            "(dashed line)."
        ),
        format_value=money,
    )
    orders = line_chart(
        [
            Series(current, [(d.isoformat(), figures.orders(d)) for d, _ in pairs]),
            Series(previous, [(p.isoformat(), figures.orders(p)) for _, p in pairs]),
        ],
        title="Orders per day",
        description=(
            f"Orders that took money, in every currency, per UTC day over the last "
            f"{PERIOD_DAYS} days (solid line), with the {PERIOD_DAYS} days before "
            "(dashed line)."
        ),
        format_value=lambda n: f"{n:,}",
    )
    top = bar_chart(
        [(s.name, s.gmv_cents) for s in figures.top_shops],
        title=f"Top {TOP_SHOPS} shops by GMV in {main}, last {PERIOD_DAYS} days",
        description=(
            f"The {len(figures.top_shops)} shops that sold the most in {main} over the "
            f"last {PERIOD_DAYS} days, most first."
        ),
        format_value=money,
        label_header="Shop",
        value_header=f"GMV ({main})",
    )
    return {"gmv": gmv, "orders": orders, "top": top}


@bp.get("/figures")
@login_required
def figures() -> str:
    data = read_figures()
    previous = {c.currency: c for c in data.previous_currencies}
    return render_template(
        "console/figures.html",
        figures=data,
        charts=figure_charts(data),
        previous=previous,
        period_days=PERIOD_DAYS,
        change=change,
        money=format_money,
    )


@bp.get("/figures.csv")
@login_required
def figures_export() -> Response:
    data = read_figures()
    return Response(
        figures_csv(data),
        mimetype="text/csv",
        headers={
            "Content-Disposition": (
                f'attachment; filename="platform-figures-{data.days[-1].isoformat()}.csv"'
            ),
            "Cache-Control": "no-store",
        },
    )
