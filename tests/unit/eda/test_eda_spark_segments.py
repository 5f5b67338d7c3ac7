"""RFM features, quintile scores and segments on Spark agree with ``eda.segments`` (smoke shop)."""

import numpy as np
import pandas as pd
import pytest

from shopintent.eda import segments


def test_whole_number_rule_is_qcut_on_ranks():
    """The rule ``spark_segments`` uses for a rank's bin equals pandas' qcut of ranks 1..n."""
    rng = np.random.default_rng(0)
    sizes = [*range(2, 400), *rng.integers(400, 50_000, size=8)]
    for q in (3, 4, 5, 10):
        for n in sizes:
            r = np.arange(1, n + 1)
            want = pd.qcut(pd.Series(r, dtype=float), q, labels=False).to_numpy() + 1
            assert (np.maximum(1, (q * (r - 1) + n - 2) // (n - 1)) == want).all(), (q, n)


def _spark_scores(spark, values, higher_is_better=True):
    from shopintent.eda.spark_segments import quantile_scores

    table = spark.createDataFrame(
        [(i, None if v is None else float(v)) for i, v in enumerate(values)], "i long, v double"
    )
    got = quantile_scores(table, "v", "s", 5, higher_is_better).orderBy("i").toPandas()
    return got["s"].astype("Int64").tolist()


@pytest.mark.parametrize(
    "values",
    [[1, 1, 1, 1, 1, 1, 2, 2, 3, 4], list(range(1, 11)), [7, 7, 7], [1.0, None, 3.0], [2.5]],
)
def test_quantile_scores_by_hand(spark, values):
    for better in (True, False):
        want = segments.quantile_scores(pd.Series(values, dtype=float), 5, better)
        assert _spark_scores(spark, values, better) == want.tolist()


@pytest.fixture(scope="module")
def both(spark_events, smoke_shop):
    from shopintent.eda import spark_segments

    want = segments.rfm_segments(segments.rfm_features(smoke_shop.events))
    got = spark_segments.rfm_segments(spark_segments.rfm_features(spark_events))
    return want, got


def test_rfm_segments_agree_with_pandas(both):
    want, got = both
    got = got.toPandas().sort_values("user_id", ignore_index=True)
    for c in ("r_score", "f_score", "m_score"):
        got[c] = got[c].astype("Int64")
    got["last_ts"] = (
        got["last_ts"].dt.tz_localize("UTC").astype(want["last_ts"].dtype)
    )  # session tz: UTC
    pd.testing.assert_frame_equal(
        got, want, check_dtype=False, check_exact=False, rtol=1e-12, atol=1e-9
    )
    assert (
        want["segment"].nunique() >= 5 and want["m_score"].nunique() > 2
    )  # many non-buyers tie at 1


def test_segment_summary_agrees_with_pandas(both):
    from shopintent.eda import spark_segments

    want, got = both
    want = segments.segment_summary(want)
    got = spark_segments.segment_summary(got)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-9)
    assert got.attrs == want.attrs and want["buyer_share"].gt(0).any()


def test_unpriced_purchases_leave_monetary_null(spark, smoke_shop):
    from shopintent.eda import spark_segments

    events = smoke_shop.events.head(3000).assign(price=np.nan)
    want = segments.segment_summary(segments.rfm_segments(segments.rfm_features(events)))
    rows = spark.createDataFrame(events.astype({"price": float}))
    got = spark_segments.segment_summary(
        spark_segments.rfm_segments(spark_segments.rfm_features(rows))
    )
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, check_dtype=False)
    assert got.attrs == want.attrs == {"reason": "monetary is null: purchases carry no prices"}
