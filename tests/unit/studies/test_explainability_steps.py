"""Notebook 10's gated steps: each returns its result where the data can serve it, else None and
one line naming what is missing (tiny hand-made logs; the smoke shop where models are fitted)."""

import numpy as np
import pandas as pd

from shopintent.data.capabilities import Capabilities
from shopintent.data.store import ShopData
from shopintent.studies import explainability as study

TS = pd.date_range("2024-01-01", periods=20, freq="D", tz="UTC")


def _shop(events: pd.DataFrame, **tables) -> ShopData:
    items = pd.DataFrame({"item_id": list("abcd"), "title": list("wxyz")})
    return ShopData.from_tables(events=events, items=items, meta={"dataset": "tiny"}, **tables)


def _one_basket_each() -> pd.DataFrame:
    """Twenty users who each buy once (grocery baskets): no user returns."""
    return pd.DataFrame(
        {
            "user_id": [f"t{i}" for i in range(20)],
            "session_id": [f"t{i}" for i in range(20)],
            "ts": TS,
            "event_type": "purchase",
            "item_id": list("abcd") * 5,
        }
    )


def test_nothing_to_explain_lists_every_part_and_their_missing_capabilities():
    queries_only = ShopData.from_tables(
        queries=pd.DataFrame({"query_id": ["q1"], "text": ["red mug"]}), meta={"dataset": "tiny"}
    )
    assert study.nothing_to_explain(Capabilities.of(queries_only)) is None  # section 4 can run
    nothing = ShopData.from_tables(items=pd.DataFrame({"item_id": ["a"]}), meta={"dataset": "x"})
    why = study.nothing_to_explain(Capabilities.of(nothing))
    assert why.count("skipped: no events") == 2 and "no search queries" in why
    assert all(part in why for part in study.PARTS)


def test_purchase_parts_without_purchases_name_them_and_the_later_sections_follow():
    views = _one_basket_each().assign(event_type="view")
    caps = Capabilities.of(_shop(views))
    purchase, why = study.purchase_explanations(caps, _shop(views), "tiny", "smoke", 0, 1, 10)
    assert purchase is None
    assert why == "tiny: purchase intent (sections 1-3) skipped: no purchase events"
    local, why = study.local_explanations(purchase)
    assert local is None and why == study.AFTER_SECTION_1
    assert study.hybrid_explanations(purchase, local, 4, 0) == (None, study.AFTER_SECTION_1)
    assert study.compare_purchase_models(purchase, None) == (None, study.AFTER_SECTION_1)
    assert study.faithfulness_tables(purchase, None, {}, {}, 10, 2, 0) == {}


def test_purchases_in_one_period_only_are_nothing_to_explain():
    caps = Capabilities.of(_shop(_one_basket_each()))
    purchase, why = study.purchase_explanations(
        caps, _shop(_one_basket_each()), "tiny", "smoke", 0, 1, 10
    )
    assert purchase is None and why.endswith("no purchases to explain in both periods")


def test_purchase_explanations_on_the_smoke_shop(smoke_shop, monkeypatch):
    """The section's result where the data serves it: LightGBM's SHAP values (the models come
    from ``purchase_models``, here LightGBM alone, fitted now) and section 1's two sessions."""
    from shopintent.models.purchase_intent import family

    def lightgbm_only(split, shop, dataset, profile, seed, epochs):
        return (
            family.fit_all(split, names=("lightgbm",), seed=seed, log=lambda _: None),
            None,
            "fitted",
        )

    monkeypatch.setattr(study, "purchase_models", lightgbm_only)
    caps = Capabilities.of(smoke_shop)
    purchase, why = study.purchase_explanations(caps, smoke_shop, "synthetic", "smoke", 0, 1, 50)
    assert why is None and len(purchase.shap.values) == 50
    share = purchase.metrics["explain/purchase_lightgbm/top_feature_share"]
    assert 0 < share < 1 and "50 whole test sessions" in purchase.additivity
    local, why = study.local_explanations(purchase)
    assert why is None and len(local.picked) == 2 and len(local.rows) == 2
    assert set(local.figures(purchase.test)) == {f"lightgbm_local_{s}" for s in local.picked}


def test_reranker_needs_users_and_users_who_return():
    anonymous = _one_basket_each().assign(user_id=None)
    result, why = study.reranker_explanations(Capabilities.of(_shop(anonymous)), None, 3, 0)
    assert result is None and why == "tiny: recommenders (section 5) skipped: no user ids"
    shop = _shop(_one_basket_each())
    result, why = study.reranker_explanations(Capabilities.of(shop), shop, 3, 0)
    assert result is None and why.startswith("tiny: the re-ranker skipped: no user has events")


def test_reranker_explanations_on_a_part_of_the_smoke_shop(smoke_shop):
    keep = np.sort(smoke_shop.events["user_id"].unique())[:150]
    events = smoke_shop.events[smoke_shop.events["user_id"].isin(keep)]
    shop = ShopData.from_tables(
        events=events, items=smoke_shop.items, queries=smoke_shop.queries, meta={"dataset": "s"}
    )
    result, why = study.reranker_explanations(Capabilities.of(shop), shop, 2, 3, n_candidates=20)
    assert why is None and result.table["user_id"].nunique() == 2
    assert "kg path" in result.table and "explain/lightgbm_reranker/ndcg@10" in result.metrics
