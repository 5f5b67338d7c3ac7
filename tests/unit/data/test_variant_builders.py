"""The dataset variants of tests/support/variants.py remove what they claim and nothing else:
on the synthetic smoke shop and on every real sample read by its loader."""

import importlib

import pandas as pd
import pytest
from support import variants as V

from shopintent.data import registry

#: table -> columns each variant empties (columns not listed must stay as they were)
NULLED = {
    "no_categories": {"items": ["category"]},
    "no_brands": {"items": ["brand"]},
    "no_titles": {"items": ["title"]},
    "no_prices": {"items": ["price"], "events": ["price"]},
    "no_users": {"events": ["user_id"]},
}
TABLES = ("events", "items", "queries", "reviews")


def _same(a: pd.DataFrame, b: pd.DataFrame, drop=()) -> None:
    pd.testing.assert_frame_equal(
        a.drop(columns=list(drop)).reset_index(drop=True),
        b.drop(columns=list(drop)).reset_index(drop=True),
        check_dtype=False,  # a source's extra columns may come back as object
    )


def check_variant(base, name: str, data) -> None:
    """``data`` is ``base`` without what ``name`` removes, and otherwise unchanged."""
    assert data.meta["variant"] == name
    assert set(data.extras) == set(base.extras)
    if name in NULLED:
        for table in TABLES:
            nulled = NULLED[name].get(table, [])
            assert all(getattr(data, table)[c].isna().all() for c in nulled), (table, nulled)
            _same(getattr(data, table), getattr(base, table), drop=nulled)
    elif name == "no_purchases":
        assert not (data.events["event_type"] == "purchase").any()
        _same(data.events, base.events[base.events["event_type"] != "purchase"])
        for table in ("items", "queries", "reviews"):
            _same(getattr(data, table), getattr(base, table))
    elif name == "no_queries":
        assert len(data.queries) == 0 and data.events["query_id"].isna().all()
        assert not (data.events["event_type"] == "search").any()
        kept = base.events[base.events["event_type"] != "search"]
        _same(data.events, kept, drop=["query_id"])
        for table in ("items", "reviews"):
            _same(getattr(data, table), getattr(base, table))
    elif name == "repeated_text":
        _same(data.events, base.events)
        repeated = 0
        for table, column in (("reviews", "text"), ("queries", "text"), ("items", "title")):
            new, old = getattr(data, table), getattr(base, table)
            assert len(new) == len(old)
            changed = (new[column] != old[column]).to_numpy() & old[column].notna().to_numpy()
            if old[column].notna().sum() >= 2:
                top = new[column].value_counts()
                assert top.iloc[0] >= max(2, round(V.REPEAT_FRAC * old[column].notna().sum()))
                assert set(new.loc[changed, column]) <= {top.index[0]}
                repeated += 1
            drop = [column, "entities"] if table == "queries" else [column]
            _same(new, old, drop=drop)
        assert repeated
    else:
        raise AssertionError(f"no check for variant {name}")


def test_every_builder_has_a_check():
    assert set(V.VARIANTS) == {*NULLED, "no_purchases", "no_queries", "repeated_text", "no_users"}


def test_the_synthetic_shop_has_every_variant_and_each_removes_its_part(smoke_shop):
    built = V.build_variants(smoke_shop)
    assert sorted(built) == sorted(V.VARIANTS)
    for name, data in built.items():
        check_variant(smoke_shop, name, data)


@pytest.fixture(scope="module")
def samples(shared_data):
    return {
        name: importlib.import_module(registry.SOURCES[name]).load(shared_data / folder)
        for name, folder in V.SAMPLES.items()
    }


#: what each real sample has to remove (a variant that would remove nothing is not built)
EXPECTED = {
    "rees46": {"no_purchases", "no_categories", "no_brands", "no_prices", "no_users"},
    "diginetica": {"no_purchases", "no_categories", "no_users"},
    "taobao": {"no_purchases", "no_categories", "no_users"},
    "homedepot": {"no_titles", "repeated_text"},  # no events: no no_queries, no no_users
    "amazon-reviews": {"repeated_text", "no_users"},
    "instacart": {"no_categories", "no_titles", "repeated_text", "no_users"},  # all purchases
    "movielens-100k": {"no_categories", "no_titles", "repeated_text", "no_users"},
    "groceries": {"no_categories", "no_titles", "repeated_text", "no_users"},
}


@pytest.mark.parametrize("dataset", list(V.SAMPLES))
def test_real_sample_variants_remove_their_part_only(samples, dataset):
    base = samples[dataset]
    built = V.build_variants(base)
    assert set(built) == EXPECTED[dataset]
    for name, data in built.items():
        check_variant(base, name, data)


def test_no_users_nulls_the_event_users(smoke_shop):
    data = V.build_variant(smoke_shop, "no_users")
    assert data.events["user_id"].isna().all()
    _same(data.events, smoke_shop.events, drop=["user_id"])


def test_a_saved_variant_is_a_dataset_the_run_all_accepts(data_root, smoke_shop):
    data = V.build_variant(smoke_shop, "no_brands")
    name = V.save_variant(data, V.base_name("synthetic"), "no_brands")
    assert name == "synthetic_smoke--no_brands"
    registry.check_dataset(name)  # listed among the datasets prepared under an own name
    loaded = registry.load(name, "smoke")
    assert loaded.meta["variant"] == "no_brands" and loaded.items["brand"].isna().all()
    assert len(loaded.events) == len(smoke_shop.events)
