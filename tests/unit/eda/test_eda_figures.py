"""Every figure builds from the tables it is documented for, with a title and axis labels."""

import plotly.graph_objects as go
import pytest

from shopintent import eda
from shopintent.eda import longtail, queries, sessions
from shopintent.studies import user_behavior_figures as figures


@pytest.fixture(scope="module")
def built(smoke_shop):
    ev, items, qs = smoke_shop.events, smoke_shop.items, smoke_shop.queries
    segs = eda.segment_summary(eda.rfm_segments(eda.rfm_features(ev)))
    return {
        "funnel": figures.funnel_figure(eda.funnel_table(ev)),
        "popularity": figures.popularity_curve_figure(
            eda.item_popularity(ev, catalogue=items["item_id"])
        ),
        "heatmap": figures.hour_weekday_figure(eda.hour_weekday_matrix(ev)),
        "lengths": figures.session_length_figure(sessions.length_counts(eda.session_table(ev))),
        "daily": figures.daily_activity_figure(eda.daily_activity(ev)),
        "brands": figures.shares_figure(longtail.attribute_shares(ev, items, "brand")),
        "prices": figures.price_figure(eda.price_by_category(ev, items)),
        "segments": figures.segment_figure(segs),
        "rules": figures.rules_figure(eda.purchase_rules(ev, items, by="user", level="category")),
        "query_lengths": figures.query_length_figure(eda.query_lengths(qs)),
        "terms": figures.top_terms_figure(eda.top_terms(qs)),
    }


def test_figures_have_titles_axes_and_data(built):
    for name, fig in built.items():
        assert isinstance(fig, go.Figure), name
        assert fig.layout.title.text and "not available" not in fig.layout.title.text, name
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text, name
        assert len(fig.data) >= 1, name
    assert list(built["funnel"].data[0].y) == ["search", "view", "cart", "purchase"]
    assert built["heatmap"].data[0].z.shape == (7, 24)


def test_an_unavailable_table_gives_an_empty_figure_that_says_why(smoke_shop):
    empty = queries.query_lengths(smoke_shop.queries.iloc[:0])
    fig = figures.query_length_figure(empty)
    assert "not available: the dataset has no search queries" in fig.layout.title.text
    assert len(fig.data) == 0
    no_prices = eda.price_by_category(
        smoke_shop.events.assign(price=float("nan")), smoke_shop.items.assign(price=float("nan"))
    )
    assert "no item has a price" in figures.price_figure(no_prices).layout.title.text
