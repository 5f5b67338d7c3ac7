"""Product search retrievers: TF-IDF, score fusion by hand, weights chosen on validation only."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopintent.models.search.protocols import QuerySet, SearchTask, compare_search_models
from shopintent.models.search.retrievers import (
    DenseRetriever,
    HybridRetriever,
    Retriever,
    TfidfRetriever,
    choose_weight,
    item_texts,
    rrf_fusion,
    zscore_fusion,
)

TITLES = [
    "Simpson Strong-Tie 12-Gauge Angle",
    "Delta Vero 1-Handle Shower Only Faucet Trim Kit",
    "BEHR Premium Textured DeckOver 1-gal. Wood and Concrete Coating",
    "Hampton Bay Dakota 3-Light Bath Bar",
    "Whirlpool 1.9 cu. ft. Over the Range Convection Microwave",
]
IDS = np.array(["100001", "100002", "100003", "100004", "100005"], dtype=object)


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_tfidf_exact_title_ranks_its_item_first(analyzer):
    r = TfidfRetriever(analyzer).fit(IDS, TITLES)
    idx, scores = r.search(TITLES, k=3)
    assert idx[:, 0].tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(scores[:, 0], 1.0, rtol=1e-5)  # cosine of a text with itself
    assert (scores[:, 0] > scores[:, 1]).all()
    assert r.scores(["shower faucet"]).shape == (1, 5) and r.search(["shower faucet"])[0][0, 0] == 1


def test_search_pads_when_k_exceeds_the_catalogue():
    idx, scores = TfidfRetriever().fit(IDS[:2], TITLES[:2]).search(["angle"], k=4)
    assert idx.shape == (1, 4) and idx[0, 0] == 0 and idx[0, 2:].tolist() == [-1, -1]
    assert np.isneginf(scores[0, 2:]).all()


def test_item_texts_add_the_brand_only_when_the_title_lacks_it():
    items = pd.DataFrame(
        {"title": ["Zentro S12 Tablet", "Kettle, 1.7L", None], "brand": ["Zentro", "Olea", None]}
    )
    assert item_texts(items).tolist() == ["Zentro S12 Tablet", "Kettle, 1.7L Olea", ""]
    assert item_texts(items, brand=False).tolist() == ["Zentro S12 Tablet", "Kettle, 1.7L", ""]


def test_zscore_fusion_by_hand():
    lexical, dense = np.array([[1.0, 2.0, 3.0]]), np.array([[0.1, 0.5, 0.3]])
    # lexical: mean 2, sd sqrt(2/3) -> z = [-1.2247, 0, 1.2247];
    # dense: mean 0.3, sd 0.1633 -> [-1.2247, 1.2247, 0]
    np.testing.assert_allclose(
        zscore_fusion(lexical, dense, 0.5), [[-1.224745, 0.612372, 0.612372]], atol=1e-5
    )
    np.testing.assert_allclose(
        zscore_fusion(lexical, dense, 1.0), [[-1.224745, 0.0, 1.224745]], atol=1e-5
    )
    np.testing.assert_allclose(
        zscore_fusion(np.ones((1, 3)), dense, 1.0), [[0, 0, 0]]
    )  # sd 0: no signal


def test_rrf_fusion_by_hand():
    lexical, dense = np.array([[1.0, 2.0, 3.0]]), np.array([[0.1, 0.5, 0.3]])
    # ranks: lexical [3, 2, 1], dense [3, 1, 2]
    expected = [0.5 / 63 + 0.5 / 63, 0.5 / 62 + 0.5 / 61, 0.5 / 61 + 0.5 / 62]
    np.testing.assert_allclose(rrf_fusion(lexical, dense, 0.5), [expected], rtol=1e-6)
    np.testing.assert_allclose(
        rrf_fusion(lexical, dense, 0.2, k=1),
        [[0.2 / 4 + 0.8 / 4, 0.2 / 3 + 0.8 / 2, 0.2 / 2 + 0.8 / 3]],
        rtol=1e-6,
    )
    # tied scores share the best rank of their tie: zeros both rank 2
    np.testing.assert_allclose(
        rrf_fusion(np.array([[0.0, 0.0, 1.0]]), dense, 1.0), [[1 / 62, 1 / 62, 1 / 61]]
    )


class FixedScores(Retriever):
    """A retriever whose score rows are looked up by query text."""

    def __init__(self, name, rows):
        self.name, self.rows = name, rows

    def _fit(self, texts):
        pass

    def scores(self, queries):
        return np.array([self.rows[q] for q in queries], dtype=np.float32)


LEXICAL = {
    "v1": [1.0, 0.0, 0.5],
    "v2": [0.9, 0.1, 0.0],
    "t1": [1.0, 0.0, 0.5],
    "t2": [0.9, 0.1, 0.0],
}
DENSE = {"v1": [0.0, 1.0, 0.6], "v2": [0.2, 0.8, 0.0], "t1": [0.0, 1.0, 0.6], "t2": [0.2, 0.8, 0.0]}


def _truth(items):
    return sp.csr_matrix(
        (np.ones(len(items)), (np.arange(len(items)), items)), shape=(len(items), 3)
    )


def _task(test_items):
    val = QuerySet(
        np.array(["v1", "v2"], dtype=object), ["v1", "v2"], _truth([1, 1])
    )  # dense's favourite
    test = QuerySet(np.array(["t1", "t2"], dtype=object), ["t1", "t2"], _truth(test_items))
    return SearchTask(
        "toy", np.array(["a", "b", "c"], dtype=object), ["a", "b", "c"], val, test, pd.DataFrame()
    )


def test_hybrid_weight_is_chosen_on_validation_only():
    # On validation the relevant item is the dense favourite: the most dense weight (0.0) wins.
    # On test it is the lexical favourite, so choosing on test would pick a lexical weight.
    test_best, _ = choose_weight(
        np.array([LEXICAL["t1"], LEXICAL["t2"]]),
        np.array([DENSE["t1"], DENSE["t2"]]),
        _truth([0, 0]),
        k=1,
    )
    assert test_best >= 0.5
    for test_items in ([0, 0], [1, 1], [2, 2]):  # whatever the test truth, the weight stays
        hybrid = HybridRetriever(FixedScores("lex", LEXICAL), FixedScores("dense", DENSE), "zscore")
        cmp = compare_search_models(_task(test_items), {"hybrid": hybrid}, k=1)
        assert cmp.weights["hybrid"] == 0.0
        assert cmp.weight_tables["hybrid"]["recall@1"].iat[0] == 1.0
    assert cmp.per_query["hybrid"]["recall@1"].tolist() == [
        0.0,
        0.0,
    ]  # the dense weight misses item 2 on test


def test_hybrid_needs_a_weight_and_fits_components_once():
    lexical = TfidfRetriever().fit(IDS, TITLES)
    hybrid = HybridRetriever(lexical, FixedScores("dense", {}), "rrf")
    with pytest.raises(RuntimeError, match="choose_weight"):
        hybrid.fit(IDS, TITLES).scores(["angle"])
    assert hybrid.name == "hybrid_rrf" and hybrid.lexical is lexical


class ToyEncoder:
    """Bag of three keywords as a vector: enough to check the dense retriever's arithmetic."""

    name, dim = "toy", 3
    words = ("angle", "shower", "deck")

    def __init__(self):
        self.calls = []

    def encode(self, texts):
        self.calls.append(list(texts))
        v = np.array([[w in t.lower() for w in self.words] for t in texts], dtype=np.float32) + 1e-3
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_dense_retriever_is_cosine_on_encoder_vectors():
    r = DenseRetriever(ToyEncoder()).fit(IDS[:3], TITLES[:3])
    s = r.scores(["deck coating", "angle"])
    np.testing.assert_allclose(
        s,
        ToyEncoder().encode(["deck coating", "angle"]) @ ToyEncoder().encode(TITLES[:3]).T,
        rtol=1e-6,
    )
    assert (
        r.search(["deck coating"], k=1)[0][0, 0] == 2 and r.name == "toy" and r.query_seconds >= 0
    )
    r.scores(["angle", "shower", "angle"])  # each new query text is encoded once, then remembered
    assert r.encoder.calls == [TITLES[:3], ["deck coating", "angle"], ["shower"]]


def test_linear_probe_on_separable_and_on_sparse_vectors():
    from shopintent.models.text.probe import linear_probe, top_level_category

    cats = top_level_category(["electronics.tablet", "grocery.coffee", None, "electronics.phone"])
    assert cats[0] == "electronics" and cats[1] == "grocery" and cats[2] is None
    r = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c"], [60, 30, 10]).astype(object)
    centres = {"a": [3, 0], "b": [0, 3], "c": [-3, -3]}
    x = np.array([centres[y] for y in labels]) + r.normal(0, 0.3, (100, 2))
    res = linear_probe(x, labels, test_size=0.3, seed=1)
    assert res.accuracy == 1.0 and res.n_test == 30 and res.n_train == 70 and res.n_classes == 3
    assert res.majority_accuracy == 0.6  # stratified: 18 of the 30 held-out rows are "a"
    tfidf = TfidfRetriever().fit(IDS, TITLES)
    sparse = tfidf.vectors(
        TITLES * 4
    )  # a sparse matrix works as well; a singleton class is dropped
    res = linear_probe(
        sparse, ["x", "y", "x", "y", "z"] * 3 + ["x", "y", "x", "y", "w"], test_size=0.4
    )
    assert res.n_classes == 3 and res.n_train + res.n_test == 19


def test_centring_removes_a_shared_direction():
    """Vectors dominated by one common direction rank by noise; centring on the catalogue
    recovers the signal (and queries are centred with the catalogue's mean)."""

    class Anisotropic:
        name, encoder_id, dim = "aniso", "", 3
        table = {
            "a": [1, 0.10, 0.0],
            "b": [1, 0.0, 0.10],
            "c": [1, -0.05, -0.05],
            "qa": [1, 0.08, -0.01],
            "qb": [1, -0.01, 0.08],
        }

        def encode(self, texts):
            v = np.array([self.table[t] for t in texts], dtype=np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    plain = DenseRetriever(Anisotropic(), use_cache=False).fit(["A", "B", "C"], ["a", "b", "c"])
    centred = DenseRetriever(Anisotropic(), use_cache=False, center=True).fit(
        ["A", "B", "C"], ["a", "b", "c"]
    )
    assert np.ptp(plain.scores(["qa"])) < 0.01  # all cosines ~1: nothing to rank by
    idx, _ = centred.search(["qa", "qb"], k=1)
    assert idx[:, 0].tolist() == [0, 1]
    assert np.allclose(np.linalg.norm(centred.item_vectors, axis=1), 1, atol=1e-5)
