"""The shop's own text: corpus, hash split and query log."""

import pandas as pd
import pytest

from shopintent.data.store import ShopData
from shopintent.features.text.corpus import query_log, shop_corpus, split_corpus


@pytest.fixture
def tiny_shop() -> ShopData:
    ts = pd.Timestamp("2025-01-01", tz="UTC")
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2", "u3"],
            "session_id": ["s1", "s1", "s2", "s2", "s3"],
            "ts": [ts + pd.Timedelta(minutes=m) for m in (30, 10, 20, 25, 40)],
            "event_type": ["search", "search", "view", "search", "search"],
            "item_id": [None, None, "i1", None, None],
            "query_id": ["q2", "q1", None, "q3", "q1"],
            "price": [None, None, 9.5, None, None],
        }
    )
    items = pd.DataFrame(
        {
            "item_id": ["i1", "i2"],
            "title": ["Zentro Tablet", "  zentro   TABLET "],
            "brand": ["Zentro", "Zentro"],
            "category": ["electronics.tablet"] * 2,
            "price": [9.5, 9.9],
            "description": ["A tablet.", ""],
        }
    )
    queries = pd.DataFrame(
        {"query_id": ["q1", "q2", "q3"], "text": ["cheap  tablet", "Zentro tablet", "best mug"]}
    )
    reviews = pd.DataFrame(
        {
            "review_id": ["r1"],
            "user_id": ["u1"],
            "item_id": ["i1"],
            "ts": [ts + pd.Timedelta(days=1)],
            "rating": [5],
            "text": ["Great tablet."],
        }
    )
    return ShopData.from_tables(events, items, queries, reviews)


def test_corpus_is_distinct_nonempty_text_with_its_first_source(tiny_shop):
    corpus = shop_corpus(tiny_shop)
    assert list(corpus.columns) == ["source", "text"]
    # "zentro TABLET" (second title) and the query "Zentro tablet" repeat the first title;
    # the empty description is dropped; whitespace is collapsed.
    assert corpus.to_dict("list") == {
        "source": ["title", "description", "query", "query", "review"],
        "text": ["Zentro Tablet", "A tablet.", "cheap tablet", "best mug", "Great tablet."],
    }


def test_corpus_until_keeps_only_earlier_queries_and_reviews(tiny_shop):
    corpus = shop_corpus(tiny_shop, until="2025-01-01 00:22")
    assert corpus["text"].tolist() == ["Zentro Tablet", "A tablet.", "cheap tablet"]


def test_split_is_deterministic_by_text_and_partitions_the_corpus(smoke_shop):
    corpus = shop_corpus(smoke_shop)
    train, held = split_corpus(corpus, holdout=0.1, seed=7)
    assert len(train) + len(held) == len(corpus)
    assert set(train["text"]).isdisjoint(held["text"])
    assert 0.07 < len(held) / len(corpus) < 0.13
    # Same side whatever the order or the rest of the corpus.
    train2, held2 = split_corpus(
        corpus.sample(frac=1.0, random_state=0).head(len(corpus) // 2), 0.1, seed=7
    )
    assert set(held2["text"]) <= set(held["text"])
    assert set(train2["text"]) <= set(train["text"])
    # Another seed gives another split.
    assert set(split_corpus(corpus, 0.1, seed=8)[1]["text"]) != set(held["text"])


def test_query_log_is_searches_in_time_order(tiny_shop):
    log = query_log(tiny_shop)
    assert list(log.columns) == ["ts", "session_id", "text"]
    assert log["text"].tolist() == ["cheap tablet", "best mug", "Zentro tablet", "cheap tablet"]
    assert log["ts"].is_monotonic_increasing
    assert query_log(tiny_shop, until="2025-01-01 00:25")["text"].tolist() == ["cheap tablet"]


def test_query_log_of_the_synthetic_shop_has_one_row_per_search(smoke_shop):
    log = query_log(smoke_shop)
    assert len(log) == int((smoke_shop.events["event_type"] == "search").sum())
    assert log["text"].str.len().min() > 0
