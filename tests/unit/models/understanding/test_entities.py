"""Gazetteer: catalogue terms, longest match, one typo per word, exact substrings; span table."""

import numpy as np
import pandas as pd
import pytest

from shopintent.models.understanding.entities import (
    Gazetteer,
    entity_table,
    spans_as_text,
    within_one_edit,
)

ITEMS = pd.DataFrame(
    {
        "item_id": ["i1", "i2", "i3", "i4"],
        "title": [
            "Nexora Q480 Smartphone, black, 128GB",
            "Olea Vita 5 Extra Virgin Olive Oil, 500ml",
            "Ivory Aero 7 Jacket, ivory, M",
            "Casa Verde Luxe 340 Mini Sofa, velvet",
        ],
        "brand": ["Nexora", "Olea", "Ivory", "Casa Verde"],
        "category": ["electronics.smartphone", "grocery.olive_oil", "fashion.jacket", "home.sofa"],
        "attributes": [
            {"colour": "black", "storage": "128GB"},
            {"volume": "500ml"},
            {"colour": "ivory", "size": "M"},
            {"material": "velvet"},
        ],
        "model": ["Q480", "Vita 5", "Aero 7", "Luxe 340 Mini"],
    }
)


@pytest.fixture(scope="module")
def gazetteer():
    return Gazetteer.from_catalog(ITEMS)


@pytest.mark.parametrize(
    "a,b,ok",
    [
        ("phone", "phone", True),
        ("phone", "phnoe", True),
        ("phone", "phon", True),
        ("phone", "phones", True),
        ("phone", "phine", True),
        ("phone", "pohen", False),
        ("phone", "ph", False),
        ("velvet", "vlevte", False),
    ],
)
def test_within_one_edit(a, b, ok):
    assert within_one_edit(a, b) is ok and within_one_edit(b, a) is ok


def test_catalogue_terms(gazetteer):
    terms = gazetteer.to_frame()
    got = set(zip(terms["term"], terms["label"], strict=True))
    assert {
        ("nexora", "brand"),
        ("q480", "model"),
        ("luxe 340 mini", "model"),
        ("128gb", "attribute"),
        ("olive oil", "category"),
        ("extra virgin olive oil", "category"),
        ("smartphone", "category"),
    } <= got
    # "ivory" is a brand once and a colour once: a tie keeps the first label seen (brand)
    assert gazetteer.terms[("ivory",)] == {"brand": 1, "attribute": 1}


def test_longest_match_wins_over_overlapping_terms(gazetteer):
    text = "Olea extra virgin olive oil 500ml"
    spans = gazetteer.predict([text])[0]
    assert spans == [(0, 4, "brand"), (5, 27, "category"), (28, 33, "attribute")]
    assert text[5:27] == "extra virgin olive oil"
    spans = gazetteer.predict(["casa verde luxe 340 mini sofa"])[0]
    assert spans == [(0, 10, "brand"), (11, 24, "model"), (25, 29, "category")]


def test_case_accents_punctuation_and_one_typo_per_word(gazetteer):
    text = "NEXÓRA q480 vs Olea Vita 5, blakc!"
    spans = gazetteer.predict([text])[0]
    assert [(text[s:e], lab) for s, e, lab in spans] == [
        ("NEXÓRA", "brand"),
        ("q480", "model"),
        ("Olea", "brand"),
        ("Vita 5", "model"),
        ("blakc", "attribute"),
    ]
    assert gazetteer.predict(["smartphnoe"])[0] == [(0, 10, "category")]
    assert gazetteer.predict(["smrtphnoe"])[0] == []  # two edits: no match
    assert gazetteer.predict(["q48"])[0] == []  # short and digits: exact only
    assert Gazetteer.from_catalog(ITEMS, fuzzy=False).predict(["smartphnoe"])[0] == []


def test_training_mentions_extend_the_dictionary(gazetteer):
    g = Gazetteer.from_catalog(ITEMS).add_spans(
        ["cheap mobile phone", "mobile phone deal"],
        [[(6, 18, "category")], [{"start": 0, "end": 12, "label": "category"}]],
    )
    assert g.predict(["nexora mobile phone"])[0] == [(0, 6, "brand"), (7, 19, "category")]
    assert gazetteer.predict(["nexora mobile phone"])[0] == [(0, 6, "brand")]


def test_save_load_round_trip(gazetteer, tmp_path):
    gazetteer.save(tmp_path)
    again = Gazetteer.load(tmp_path)
    texts = ["Nexora Q480 black", "ivory jacket M", "olive oil"]
    assert again.predict(texts) == gazetteer.predict(texts)
    assert again.terms == gazetteer.terms


def test_entity_table_and_display():
    true = [[(0, 6, "brand"), (7, 11, "model")], [(0, 5, "category")]]
    pred = {"a": [[(0, 6, "brand"), (7, 10, "model")], [(0, 5, "category")]]}
    t = entity_table(true, pred, typo=[True, False]).set_index("subset")
    assert t.loc["all", "precision"] == pytest.approx(2 / 3) and t.loc[
        "all", "recall"
    ] == pytest.approx(2 / 3)
    assert t.loc["model", "f1"] == 0 and t.loc["brand", "f1"] == 1
    assert t.loc["typo", "f1"] == pytest.approx(0.5) and t.loc["typo", "n_true"] == 2
    assert spans_as_text("nexora q480", true[0]) == "[brand: nexora] [model: q480]"
    assert np.isfinite(t["f1"]).all()


def test_typo_augmentation_keeps_spans_on_their_mentions():
    from shopintent.models.understanding.entities import augment_typos

    texts = ["nexora smartphone black", "cheap olive oil", "q480 vs 12", "extra virgin olive oil"]
    spans = [
        [(0, 6, "brand"), (7, 17, "category"), (18, 23, "attribute")],
        [(6, 15, "category")],
        [(0, 4, "model")],
        [{"start": 0, "end": 22, "label": "category"}],
    ]
    out, out_spans, changed = augment_typos(texts, spans, rate=1.0, seed=3)
    assert changed.tolist() == [
        True,
        True,
        False,
        True,
    ]  # "q480": no word of 4+ letters in an entity
    assert out[2] == texts[2] and out_spans[2] == [(0, 4, "model")]
    for before, after, old, new in zip(texts, out, spans, out_spans, strict=True):
        assert len(new) == len(old) and abs(len(after) - len(before)) <= 1
        assert (
            sum(a != b for a, b in zip(before.split(), after.split(), strict=True)) <= 1
        )  # one word touched
        for (
            s,
            e,
            _,
        ) in new:  # each span still covers whole words, and the words outside spans are unchanged
            assert after[s:e] == after[s:e].strip() and (s == 0 or after[s - 1] == " ")
            assert e == len(after) or after[e] == " "
    again = augment_typos(texts, spans, rate=1.0, seed=3)
    assert again[0] == out  # seeded
    assert augment_typos(texts, spans, rate=0.0, seed=3)[0] == texts


def test_silver_brands_from_titles_and_the_check():
    from shopintent.models.understanding.entities import silver_brand_spans, silver_check

    items = pd.DataFrame(
        {
            "item_id": [str(i) for i in range(8)],
            "title": [
                "Husky 20 in. Tool Box",
                "Husky Socket Set",
                "Husky Hammer",
                "White Paint 1 gal.",
                "Behr Paint in White",
                "Behr Primer",
                "Behr Stain",
                "The Best Hammer",
            ],
        }
    )
    relevance = pd.DataFrame(
        {
            "query_id": ["q1", "q1", "q2", "q3"],
            "item_id": ["0", "3", "4", "7"],
            "relevance": [3.0, 3.0, 2.0, 3.0],
        }
    )
    queries = pd.DataFrame(
        {
            "query_id": ["q1", "q2", "q3", "q4"],
            "text": ["husky tool box white", "behr paint", "the hammer", "Husky"],
        }
    )
    silver = silver_brand_spans(queries, items, relevance, min_titles=3)
    # q1: "husky" leads 3 titles; "white" leads one and appears in two;
    # q2's product is judged 2.0 (not relevant);
    # q3: "the" is a stop word; q4 has no judged products
    assert silver == [[(0, 5, "brand")], [], [], []]
    check = silver_check(
        silver, [[(0, 5, "brand"), (6, 10, "category")], [(0, 4, "brand")], [], []]
    )
    assert check == {
        "recall": 1.0,
        "precision": 1.0,
        "f1": 1.0,
        "queries": 1,
        "silver_mentions": 1,
        "predicted_mentions": 1,
    }
    assert silver_check(silver, [[], [], [], []])["recall"] == 0.0


def test_examples_table_shows_spans_as_text():
    from shopintent.models.understanding.entities import examples_table

    t = examples_table(
        ["nexora q480", "red lamp"], [[(0, 6, "brand")], []], {"g": [[(7, 11, "model")], []]}, [0]
    )
    assert t.to_dict("list") == {
        "query": ["nexora q480"],
        "truth": ["[brand: nexora]"],
        "g": ["[model: q480]"],
    }
