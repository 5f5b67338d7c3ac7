"""Association rules of purchase baskets on Spark agree with mlxtend's (``eda.baskets``) on the
smoke shop: the same rules, with equal support, confidence and lift."""

import numpy as np
import pandas as pd
import pytest

from shopintent.eda import baskets
from shopintent.studies.user_behavior import RULE_TABLES, RULE_THRESHOLDS


def _keyed(rules: pd.DataFrame) -> pd.DataFrame:
    return rules.set_index(["antecedents", "consequents"]).sort_index()


def assert_same_rules(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got, want = _keyed(got), _keyed(want)
    assert list(got.index) == list(want.index)
    assert (got["count"].to_numpy() == want["count"].to_numpy()).all()
    for c in ("antecedent_support", "consequent_support", "support", "confidence", "lift"):
        np.testing.assert_allclose(
            got[c].to_numpy(float), want[c].to_numpy(float), rtol=0, atol=1e-9
        )


@pytest.mark.parametrize("name", list(RULE_TABLES))
def test_rules_agree_with_mlxtend(spark_events, spark_items, smoke_shop, name):
    """Notebook 01's three rule tables at its thresholds."""
    from shopintent.eda import spark_baskets

    options = {**RULE_TABLES[name], **RULE_THRESHOLDS}
    want = baskets.purchase_rules(smoke_shop.events, smoke_shop.items, **options)
    got = spark_baskets.purchase_rules(spark_events, spark_items, **options)
    assert_same_rules(got, want)
    assert got.attrs == pytest.approx(want.attrs) and len(want) > 0
    assert got["lift"].is_monotonic_decreasing  # by lift (ties may differ in the last bit)


def test_multi_item_consequents_and_sparks_own_rules(spark_events, spark_items, smoke_shop):
    """Users' category baskets give rules {a} -> {b, c}, which Spark's ``associationRules`` does
    not give; its rules are exactly the one-item-consequent ones here."""
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    from shopintent.eda import spark_baskets

    options = {"by": "user", "level": "category", "min_support": 0.01, "min_confidence": 0.1}
    want = baskets.purchase_rules(smoke_shop.events, smoke_shop.items, **options)
    got = spark_baskets.purchase_rules(spark_events, spark_items, **options)
    assert_same_rules(got, want)
    assert (want["consequents"].map(len) == 2).any()
    found = spark_baskets.basket_items(spark_events, spark_items, by="user", level="category")
    grouped = found.groupBy("basket")
    sets = grouped.agg(F.collect_set("item").alias("items"))
    n = sets.count()
    k = int(np.ceil(got.attrs["min_support"] * n - 1e-9))
    model = FPGrowth(itemsCol="items", minSupport=(k - 0.5) / n, minConfidence=0.1).fit(sets)
    own = {
        (tuple(sorted(r["antecedent"])), tuple(r["consequent"])): r["confidence"]
        for r in model.associationRules.filter(F.size("antecedent") <= 2).collect()
    }
    single = got[got["consequents"].map(len) == 1]
    keys = zip(single["antecedents"], single["consequents"], strict=True)
    mine = dict(zip(keys, single["confidence"], strict=True))
    assert own.keys() == mine.keys()
    assert all(abs(own[k] - mine[k]) < 1e-9 for k in own)


def test_reasons_agree_with_pandas(spark, smoke_shop):
    from shopintent.eda import spark_baskets

    views = smoke_shop.events[smoke_shop.events["event_type"] == "view"].head(50)
    want = baskets.purchase_rules(views)
    got = spark_baskets.purchase_rules(spark.createDataFrame(views))
    assert got.empty and got.attrs == want.attrs == {"reason": "the log has no purchase events"}
