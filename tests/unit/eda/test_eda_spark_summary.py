"""Notebook 01's funnel and session lengths on Spark agree with the pandas functions on the
smoke synthetic shop (shared ``spark`` fixture: local[2], UI off)."""

import pandas as pd
import pytest

from shopintent.eda import funnel, sessions


@pytest.mark.parametrize("unit", ["session", "user"])
def test_funnel_agrees_with_pandas(spark_events, smoke_shop, unit):
    from shopintent.eda import spark_summary

    want = funnel.funnel_table(smoke_shop.events, unit)
    got = spark_summary.funnel_table(spark_events, unit)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs and want["units"].gt(0).all()
    assert spark_summary.funnel_rates(spark_events, unit) == funnel.funnel_rates(
        smoke_shop.events, unit
    )


def test_session_lengths_agree_with_pandas(spark_events, smoke_shop):
    from shopintent.eda import spark_summary

    want = sessions.length_counts(sessions.session_table(smoke_shop.events), cap=5)
    got = spark_summary.length_counts(spark_events, cap=5)
    pd.testing.assert_frame_equal(got, want, check_names=False)
    assert len(want) == 5 and want["sessions"].sum() == smoke_shop.events["session_id"].nunique()


@pytest.mark.parametrize("by", ["session", "user"])
def test_frequent_itemsets_agree_with_mlxtend(spark_events, smoke_shop, by):
    from shopintent.eda import baskets, spark_summary

    found = baskets.basket_items(smoke_shop.events, by=by)
    want = baskets.frequent_itemsets(found, min_support=0.002, min_count=2, max_items=None)
    got = spark_summary.frequent_itemsets(spark_events, by=by, min_support=0.002, min_count=2)
    order = ["support", "size", "itemset"]
    want = want.sort_values(order, ascending=[False, True, True], ignore_index=True)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs and (want["size"] == 2).any()  # pairs, not only items


@pytest.mark.parametrize("with_catalogue", [False, True])
def test_long_tail_concentration_agrees_with_pandas(
    spark, spark_events, smoke_shop, with_catalogue
):
    from shopintent.eda import longtail, spark_summary

    items = smoke_shop.items
    catalogue = items["item_id"] if with_catalogue else None
    want = longtail.concentration(longtail.item_popularity(smoke_shop.events, "view", catalogue))
    spark_items = spark.createDataFrame([(i,) for i in items["item_id"]], ["item_id"])
    got = spark_summary.concentration(spark_events, "view", spark_items if with_catalogue else None)
    assert got == want and want["gini"] > 0
    assert (want["zero_share"] > 0) == with_catalogue  # the catalogue adds items never viewed
