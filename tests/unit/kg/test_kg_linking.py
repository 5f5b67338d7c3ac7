"""Entity linking: exact and typo'd mentions, model disambiguation by context, the gazetteer over
KG aliases, mined category aliases, and accuracy against the synthetic shop's truth."""

import pandas as pd
import pytest

from shopintent.data.splits import temporal_split
from shopintent.kg import build, linking, linking_eval


def catalogue() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3", "i4"],
            "title": [
                "Nexora Q7 Smartphone, black",
                "Voltix Q7 Tablet, white",
                "Voltix Aero 5 Tablet, black",
                "Ivory Zen 2 Vacuum Cleaner, ivory",
            ],
            "brand": ["Nexora", "Voltix", "Voltix", "Ivory"],
            "category": [
                "electronics.smartphone",
                "electronics.tablet",
                "electronics.tablet",
                "appliances.vacuum",
            ],
            "attributes": [
                {"colour": "black"},
                {"colour": "white"},
                {"colour": "black"},
                {"colour": "ivory"},
            ],
            "model": ["Q7", "Q7", "Aero 5", "Zen 2"],
        }
    )


@pytest.fixture(scope="module")
def linker():
    items = catalogue()
    kg = build.build_kg(items)
    return linking.EntityLinker(kg, linking.title_category_aliases(kg, items))


def link_one(linker, text, label, group=0):
    return linker.link(pd.DataFrame({"text": [text], "label": [label], "query": [group]})).iloc[0]


def test_exact_mentions_link_with_full_confidence(linker):
    row = link_one(linker, "NEXORA", "brand")
    assert (
        row["node_id"] == "brand:Nexora" and row["confidence"] == 1.0 and row["method"] == "exact"
    )
    assert link_one(linker, "vacuum cleaner", "category")["node_id"] == "category:appliances.vacuum"


def test_a_typo_d_brand_links_fuzzily_with_lower_confidence(linker):
    row = link_one(linker, "voltx", "brand")  # one letter dropped
    assert row["node_id"] == "brand:Voltix" and row["method"] == "fuzzy"
    assert 0.8 < row["confidence"] < 1.0
    swapped = link_one(linker, "nexroa", "brand")
    assert swapped["node_id"] == "brand:Nexora" and swapped["confidence"] < row["confidence"]
    assert link_one(linker, "zzqx", "brand")["method"] == "none"  # nothing close: left unlinked


def test_the_label_decides_between_a_brand_and_a_colour(linker):
    assert link_one(linker, "ivory", "brand")["node_id"] == "brand:Ivory"
    assert link_one(linker, "ivory", "attribute")["node_id"] == "attr:colour=ivory"
    with pytest.raises(ValueError, match="no node type"):
        link_one(linker, "ivory", "colourway")


def test_a_shared_model_name_follows_the_brand_or_category_in_the_same_query(linker):
    mentions = pd.DataFrame(
        {
            "text": ["voltix", "q7", "q7", "tablet", "q7", "smartphone"],
            "label": ["brand", "model", "model", "category", "model", "category"],
            "query": [1, 1, 2, 2, 3, 3],
        }
    )
    out = linker.link(mentions)
    assert out["node_id"].tolist()[1] == "model:Voltix/Q7"
    assert out["node_id"].tolist()[2] == "model:Voltix/Q7"  # "q7 tablet": Voltix makes the tablet
    assert out["node_id"].tolist()[4] == "model:Nexora/Q7"  # "q7 smartphone"


def test_find_mentions_spans_map_back_to_the_text(linker):
    texts = ["cheap voltix aero 5 tablet", "nexroa q7 black", "nothing here"]
    found = linker.find_mentions(texts)
    assert found["query"].max() == 1  # the third text has no mention
    for r in found.itertuples():
        assert texts[r.query][r.start : r.end] == r.text
    first = found[found["query"] == 0]
    assert first[["text", "node_id"]].values.tolist() == [
        ["voltix", "brand:Voltix"],
        ["aero 5", "model:Voltix/Aero 5"],
        ["tablet", "category:electronics.tablet"],
    ]
    second = found[found["query"] == 1].set_index("text")["node_id"]
    assert second["nexroa"] == "brand:Nexora" and second["q7"] == "model:Nexora/Q7"
    assert second["black"] == "attr:colour=black"


def test_mined_aliases_come_from_what_searchers_viewed():
    items = catalogue()
    kg = build.build_kg(items)
    queries = pd.DataFrame({"query_id": ["q1", "q2"], "text": ["hoover", "cheap hoover"]})
    rows = []
    for k in range(25):
        q = "q1" if k % 2 else "q2"
        rows += [
            (f"u{k}", f"s{k}", pd.Timestamp("2025-01-01", tz="UTC"), "search", None, q),
            (f"u{k}", f"s{k}", pd.Timestamp("2025-01-01 00:01", tz="UTC"), "view", "i4", None),
        ]
    ev = pd.DataFrame(
        rows, columns=["user_id", "session_id", "ts", "event_type", "item_id", "query_id"]
    )
    mined = linking.mine_category_aliases(ev, queries, kg, min_sessions=20)
    assert mined.set_index("alias")["node_id"].to_dict() == {"hoover": "category:appliances.vacuum"}
    assert "cheap" not in set(mined["alias"])  # in 13 sessions only, fewer than min_sessions
    lk = linking.EntityLinker(kg, mined)
    assert (
        lk.link(pd.DataFrame({"text": ["hoover"], "label": ["category"]}))["node_id"].iat[0]
        == "category:appliances.vacuum"
    )


def test_linking_accuracy_on_the_synthetic_shop(smoke_shop):
    split = temporal_split(smoke_shop.events, test_frac=0.2)
    kg = build.build_kg(smoke_shop.items, split.train, smoke_shop.queries)
    lk = linking.EntityLinker(kg, linking.title_category_aliases(kg, smoke_shop.items))
    qids = split.test["query_id"].dropna().unique()[:300]
    spans = linking_eval.truth_spans(
        smoke_shop.queries,
        smoke_shop.events,
        smoke_shop.items,
        smoke_shop.extras["session_truth"],
        qids,
    )
    # the truth of a first brand span is the brand of its session's target item
    truth = smoke_shop.extras["session_truth"].set_index("session_id")["target_item_id"]
    sess = smoke_shop.events.dropna(subset=["query_id"]).set_index("query_id")["session_id"]
    brand = smoke_shop.items.set_index("item_id")["brand"]
    first = spans[(spans["label"] == "brand") & (spans["ordinal"] == 0)].iloc[0]
    assert first["truth"] == "brand:" + brand[truth[sess[first["query_id"]]]]
    assert spans.loc[(spans["label"] == "brand") & (spans["ordinal"] > 0), "truth"].isna().all()
    table = linking_eval.accuracy_table(linking_eval.link_truth_spans(lk, spans))
    assert table.loc["all", "spans"] > 300
    assert table.loc["all", "accuracy"] > 0.9 and table.loc["all", "accuracy_typo"] > 0.75
    assert table.loc["all", "confidence_correct"] > table.loc["all", "confidence_wrong"]


def test_a_taggers_spans_are_linked_and_a_missing_tagger_is_said(linker, tmp_path):
    from shopintent.models.understanding.entities import Gazetteer

    texts = ["voltix q7 tablet", "ivory zen 2"]
    spans = Gazetteer.from_catalog(catalogue()).predict(texts)
    linked = linking_eval.link_predicted_spans(linker, ["a", "b"], texts, spans)
    got = dict(zip(linked["text"], linked["node_id"], strict=True))
    assert got["voltix"] == "brand:Voltix" and got["q7"] == "model:Voltix/Q7"
    assert got["ivory"] == "brand:Ivory" and got["zen 2"] == "model:Ivory/Zen 2"
    from shopintent.studies.knowledge_graph import saved_tagger

    assert saved_tagger(None, "synthetic", "default")[0] is None
    assert saved_tagger("auto", "synthetic", "smoke", load_auto=False)[0] is None
    tagger, note = saved_tagger(tmp_path / "nothing", "synthetic", "default")
    assert tagger is None and "no saved neural tagger" in note


@pytest.mark.parametrize("keep", [["item_id", "title"], ["item_id"]], ids=["titles", "ids"])
def test_a_catalogue_without_brands_or_categories_links_nothing(keep):
    """Issue 18: no brand, model, category or attribute node means no alias, and the linker
    links nothing instead of failing on an empty vocabulary."""
    items = catalogue()[keep]
    events = pd.DataFrame(
        {
            "user_id": "u1",
            "session_id": ["s1", "s1", "s2"],
            "ts": pd.to_datetime(
                ["2024-01-01 00:00", "2024-01-01 00:01", "2024-01-02 00:00"], utc=True
            ),
            "event_type": ["search", "view", "view"],
            "item_id": [None, "i1", "i2"],
            "query_id": ["q1", None, None],
        }
    )
    queries = pd.DataFrame({"query_id": ["q1"], "text": ["nexora smartphone"]})
    kg = build.build_kg(items, events, queries)
    assert set(kg.nodes["type"]) == {"item"}
    aliases = pd.concat(
        [
            linking.title_category_aliases(kg, items),
            linking.mine_category_aliases(events, queries, kg, min_sessions=1),
        ]
    )
    assert aliases.empty
    linker = linking.EntityLinker(kg, aliases)
    assert linker.find_mentions(["nexora q7 smartphone", "tablet"]).empty
    linked = link_one(linker, "nexora", "brand")
    assert linked["node_id"] is None and linked["method"] == "none"
