"""The behaviour study's recorded numbers on Spark equal the pandas ones (smoke shop)."""

import pytest

from shopintent.eda import baskets
from shopintent.studies import user_behavior as study
from shopintent.studies.user_behavior import RULE_TABLES, RULE_THRESHOLDS


@pytest.mark.slow  # ~15 Spark jobs (~20 s); each part is held to pandas in the fast tier
def test_summary_agrees_with_headline_metrics(spark, spark_events, spark_items, smoke_shop):
    from shopintent.studies.user_behavior_spark import summary

    want = study.headline_metrics(smoke_shop)
    rules = baskets.purchase_rules(
        smoke_shop.events, smoke_shop.items, **RULE_TABLES["user × category"], **RULE_THRESHOLDS
    )
    want["eda/rules/user_category_count"] = len(rules)
    got = summary(spark, spark_events, spark_items, smoke_shop.queries)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert (got[key] is None) == (value is None), key
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
        else:
            assert got[key] == value and type(got[key]) is type(value), key
    assert want["eda/rules/count"] > 0 and want["eda/funnel/user_conversion"] > 0


def test_summary_of_an_empty_log(spark, spark_events, spark_items):
    from shopintent.studies.user_behavior_spark import summary

    got = summary(spark, spark_events.limit(0), spark_items)
    assert got["eda/items/count"] > 0
    assert {k for k, v in got.items() if v is not None} == {"eda/items/count"}
