"""Query lengths, top terms and brand mentions (whole words, case-insensitive)."""

import pandas as pd
import pytest

from shopintent.data.schema import conform
from shopintent.eda import queries as q


@pytest.fixture
def queries():
    return conform(
        "queries",
        pd.DataFrame(
            {
                "query_id": [f"q{i}" for i in range(1, 7)],
                "text": [
                    "Kelvo microwave 900W",
                    "cheap  red jeans for kids",
                    "kelvomatic toaster",
                    "pure bloom shampoo",
                    "Bloom",
                    "dr. best shampoo",
                ],
                "intent": [
                    "navigational",
                    "exploratory",
                    "exploratory",
                    "navigational",
                    "navigational",
                    None,
                ],
            }
        ),
    )


@pytest.fixture
def items():
    return conform(
        "items",
        pd.DataFrame(
            {
                "item_id": list("abcdef"),
                "brand": ["Kelvo", "Pure Bloom", "Bloom", "Dr.", "Acme", None],
            }
        ),
    )


def test_query_lengths(queries):
    lengths = q.query_lengths(queries).set_index("query_id")
    assert lengths["words"].tolist() == [3, 5, 2, 3, 1, 3]  # "dr. best shampoo": dr, best, shampoo
    # "cheap  red jeans for kids": 5 + 2 + 3 + 1 + 5 + 1 + 3 + 1 + 4 = 25 characters
    assert lengths.loc["q2", "chars"] == 25 and lengths.loc["q5", "chars"] == 5
    stats = q.length_stats(q.query_lengths(queries)).set_index("variable")
    assert stats.loc["words", "mean"] == pytest.approx(17 / 6)


def test_top_terms(queries):
    terms = q.top_terms(queries, n=3).set_index("term")
    # shampoo in q4 and q6, bloom in q4 and q5; "for" is a stop word
    assert terms.index[:2].tolist() == ["bloom", "shampoo"]
    assert terms.loc["shampoo", "queries"] == 2 and terms.loc[
        "shampoo", "query_share"
    ] == pytest.approx(2 / 6)
    assert "for" not in q.top_terms(queries, n=100)["term"].tolist()
    repeated = conform("queries", pd.DataFrame({"query_id": ["x"], "text": ["red red shoes"]}))
    red = q.top_terms(repeated).set_index("term").loc["red"]
    assert (red["queries"], red["occurrences"]) == (1, 2)


def test_brand_mentions_whole_words_case_insensitive(queries, items):
    m = q.brand_mentions(queries, items)
    # q1 Kelvo (not q3's "kelvomatic"); q4 "pure bloom" is Pure Bloom, once; q5 Bloom; q6 "dr."
    assert list(zip(m["query_id"], m["brand"], strict=True)) == [
        ("q1", "Kelvo"),
        ("q4", "Pure Bloom"),
        ("q5", "Bloom"),
        ("q6", "Dr."),
    ]
    share = q.brand_share(queries, items)
    assert share == {"share": 4 / 6, "queries": 6, "with_brand": 4}
    counts = q.brand_query_counts(m)
    assert counts["queries"].tolist() == [1, 1, 1, 1]


def test_brand_pattern():
    pattern = q.brand_pattern(pd.Series(["Bean & Co", "Co", None, " "]))
    assert pattern.search("bean & co beans").group(0) == "bean & co"
    assert pattern.search("coco") is None and pattern.search("co.") is not None
    assert q.brand_pattern(pd.Series([None])) is None


def test_intent_shares(queries):
    shares = q.intent_shares(queries).set_index("intent")
    assert shares.loc["navigational", "queries"] == 3 and shares.loc[
        "navigational", "share"
    ] == pytest.approx(3 / 5)


def test_missing_queries_or_brands_say_why(queries, items):
    none = conform("queries", pd.DataFrame({"query_id": [], "text": []}))
    for table in (q.query_lengths(none), q.top_terms(none), q.brand_mentions(none, items)):
        assert table.empty and table.attrs["reason"] == "the dataset has no search queries"
    assert q.brand_share(none, items)["share"] is None
    no_brands = q.brand_share(queries, items.assign(brand=None))
    assert no_brands["share"] is None and no_brands["reason"] == "the catalogue has no brands"
    assert (
        q.intent_shares(queries.assign(intent=None)).attrs["reason"]
        == "the queries carry no intent labels"
    )
    assert q.length_stats(q.query_lengths(none))["count"].tolist() == [0, 0]


def test_smoke_shop(smoke_shop):
    share = q.brand_share(smoke_shop.queries, smoke_shop.items)
    # the synthetic queries carry entity labels: a query with a brand span must be matched
    labelled = smoke_shop.queries["entities"].map(
        lambda es: any(e["label"] == "brand" for e in es or [])
    )
    found = set(q.brand_mentions(smoke_shop.queries, smoke_shop.items)["query_id"])
    clean = labelled & ~smoke_shop.queries["has_typo"]
    missed = smoke_shop.queries.loc[clean & ~smoke_shop.queries["query_id"].isin(found), "query_id"]
    assert len(missed) / clean.sum() < 0.05
    assert 0.1 < share["share"] < 0.9 and share["queries"] == len(smoke_shop.queries)
