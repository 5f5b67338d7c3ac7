"""Plotly figures of the EDA tables: each takes a table returned by ``shopintent.eda`` and
returns a ``go.Figure`` with a title and axis labels; the numbers all come from the table.

An empty table (data the dataset lacks) gives an empty figure whose title says why.
"""

from __future__ import annotations

import plotly.graph_objects as go

from shopintent.eda.quality import reason


def _figure(title: str, x: str, y: str, table=None) -> go.Figure:
    why = reason(table) if table is not None else None
    fig = go.Figure()
    fig.update_layout(
        title=f"{title} — not available: {why}" if why else title,
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
    )
    return fig


def funnel_figure(funnel) -> go.Figure:
    """Units reaching each stage, from ``funnel_table`` (absent stages left out)."""
    unit = funnel.attrs.get("unit", "session")
    fig = _figure(f"Conversion funnel ({unit}s reaching each stage)", f"{unit}s", "stage", funnel)
    shown = funnel[funnel["present"]]
    fig.add_trace(go.Funnel(y=shown["stage"], x=shown["units"], textinfo="value+percent initial"))
    return fig


def popularity_curve_figure(popularity, event_type: str = "view") -> go.Figure:
    """Concentration curve from ``item_popularity``: share of events on the top x% of items."""
    fig = _figure(
        f"Item popularity: cumulative share of {event_type}s by item rank",
        "share of items (most popular first)",
        f"cumulative share of {event_type}s",
        popularity,
    )
    if not popularity.empty:
        fig.add_trace(
            go.Scatter(
                x=popularity["item_frac"], y=popularity["cum_share"], mode="lines", name="items"
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                name="all equal",
                line={"dash": "dot", "color": "grey"},
            )
        )
    return fig


def hour_weekday_figure(matrix) -> go.Figure:
    """Heat map of activity by weekday and UTC hour, from ``hour_weekday_matrix``."""
    fig = _figure("Activity by weekday and hour (UTC)", "hour of day (UTC)", "weekday")
    fig.add_trace(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=list(matrix.columns),
            y=list(matrix.index),
            colorscale="Blues",
            colorbar={"title": "events"},
        )
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def session_length_figure(length_counts) -> go.Figure:
    """Sessions by number of events, from ``sessions.length_counts`` (last bar: cap or more)."""
    fig = _figure("Session length", "events in the session", "sessions", length_counts)
    fig.add_trace(go.Bar(x=length_counts["events"], y=length_counts["sessions"]))
    return fig


def daily_activity_figure(daily) -> go.Figure:
    """Active users and sessions per day, from ``daily_activity``."""
    fig = _figure("Active users and sessions per day", "date (UTC)", "count", daily)
    for col in ("users", "sessions"):
        fig.add_trace(go.Scatter(x=daily["date"], y=daily[col], mode="lines", name=col))
    return fig


def shares_figure(shares, n: int = 20) -> go.Figure:
    """Top ``n`` brands or categories by share of events, from ``attribute_shares``."""
    by = shares.columns[0]
    fig = _figure(f"Top {n} {by} values by share of events", "share of events", by, shares)
    top = shares.head(n)
    fig.add_trace(
        go.Bar(x=top["event_share"], y=top[by].astype(str), orientation="h", name="events")
    )
    fig.add_trace(go.Bar(x=top["item_share"], y=top[by].astype(str), orientation="h", name="items"))
    fig.update_yaxes(autorange="reversed")
    return fig


def price_figure(prices) -> go.Figure:
    """Price distribution per category as boxes (p10/p25/p50/p75/p90) from ``price_by_category``."""
    fig = _figure("Item price by category (whiskers p10–p90)", "category", "price", prices)
    if not prices.empty:
        fig.add_trace(
            go.Box(
                x=prices["category"],
                q1=prices["p25"],
                median=prices["p50"],
                q3=prices["p75"],
                lowerfence=prices["p10"],
                upperfence=prices["p90"],
                mean=prices["mean"],
                name="price",
            )
        )
    return fig


def segment_figure(summary) -> go.Figure:
    """Users per RFM segment and their session conversion, from ``segment_summary``."""
    fig = _figure("RFM segments: size and session conversion", "segment", "users", summary)
    fig.add_trace(go.Bar(x=summary["segment"], y=summary["users"], name="users"))
    fig.add_trace(
        go.Scatter(
            x=summary["segment"],
            y=summary["session_conversion"],
            yaxis="y2",
            mode="markers+lines",
            name="session conversion",
        )
    )
    fig.update_layout(yaxis2={"title": "session conversion", "overlaying": "y", "side": "right"})
    return fig


def rules_figure(rules) -> go.Figure:
    """Rules as points (support × confidence, colour = lift), from ``association_rules``."""
    fig = _figure("Association rules: support, confidence and lift", "support", "confidence", rules)
    if not rules.empty:
        label = [
            f"{' + '.join(a)} → {' + '.join(c)}"
            for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=rules["support"],
                y=rules["confidence"],
                mode="markers",
                text=label,
                marker={
                    "color": rules["lift"],
                    "colorscale": "Viridis",
                    "colorbar": {"title": "lift"},
                },
            )
        )
    return fig


def query_length_figure(lengths) -> go.Figure:
    """Queries by number of words, from ``query_lengths``."""
    fig = _figure("Query length", "words in the query", "queries", lengths)
    if not lengths.empty:
        counts = lengths["words"].value_counts().sort_index()
        fig.add_trace(go.Bar(x=counts.index, y=counts.to_numpy()))
    return fig


def top_terms_figure(terms) -> go.Figure:
    """The most frequent query words, from ``top_terms``."""
    fig = _figure("Most frequent query words", "share of queries", "word", terms)
    fig.add_trace(go.Bar(x=terms["query_share"], y=terms["term"], orientation="h"))
    fig.update_yaxes(autorange="reversed")
    return fig
