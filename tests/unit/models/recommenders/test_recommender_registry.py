"""The recommender registry: every registered model fits on a tiny shop, saves, loads back and
scores exactly as it did; ``tune`` and ``persist`` know every registered name; the registry's
rules (unknown names, double registration, lazy Keras) hold."""

from types import SimpleNamespace

import numpy as np
import pytest

from shopintent.models.recommenders import persist, registry, tune

#: settings that keep each fit to a second or two on 2 cores (the registered defaults are the
#: real sizes); a new recommender runs here with its defaults unless it is added
TINY = {
    "two_tower": lambda: {"config": _tower()},
    "two_tower_text": lambda: {"config": _tower()},
    "two_tower_ranked": lambda: {"retrieval": _tower(), "config": _ranker()},
    "lstm": lambda: {"dim": 8, "max_len": 8, "epochs": 1, "seed": 0},
    "self_attention": lambda: {"dim": 8, "max_len": 8, "epochs": 1, "heads": 1, "seed": 0},
    "gru4rec": lambda: {"layers": [8], "n_sample": 16, "batch_size": 16, "epochs": 1, "seed": 0},
    "sequence_hybrid": lambda: {"first": "sknn", "second": "session_item_knn"},
    "kg_blend": lambda: {"base": "item_knn", "weight": 0.3},
    "lightgbm_reranker": lambda: {"n_candidates": 20, "rounds": 20},
}


def _tower():
    from shopintent.models.recommenders.two_tower.model import TwoTowerConfig

    return TwoTowerConfig(dim=8, hidden=(8,), feature_dim=4, epochs=1, batch_size=512, history=5)


def _ranker():
    from shopintent.models.recommenders.two_tower.ranking import RankerConfig

    return RankerConfig(n_candidates=20, embedding_dim=4, cross_layers=1, hidden=(8,), epochs=1)


@pytest.fixture(scope="module")
def tiny(smoke_shop):
    """The smoke shop cut to its first 100 users: training events (the earlier 80%), the
    catalogue, its queries, next-item sequences, and users to score (one of them unknown)."""
    from shopintent.data.splits import temporal_split
    from shopintent.models.recommenders.sequential.data import sequence_split

    keep = np.sort(smoke_shop.events["user_id"].unique())[:100]
    events = smoke_shop.events[smoke_shop.events["user_id"].isin(keep)]
    train = temporal_split(events, test_frac=0.2).train
    items = smoke_shop.items
    text = np.random.default_rng(0).normal(size=(len(items), 6)).astype(np.float32)
    users = [*np.sort(train["user_id"].unique())[::3], "not-a-user"]
    return SimpleNamespace(
        train=train,
        items=items,
        queries=smoke_shop.queries,
        extras=smoke_shop.extras,
        text=text,
        users=users,
        sequences=sequence_split(events, items, by="user"),
    )


def _params(name: str, tiny) -> dict:
    params = TINY.get(name, lambda: {})()
    if "text" in registry.get(name).needs:
        params["text"] = tiny.text
    if name == "kg_ppr":  # searches seed the walk too: the linker and the searches are saved
        params.update(queries=tiny.queries, extras=tiny.extras)
    if name == "kg_blend":
        params["kg_params"] = {"queries": tiny.queries, "extras": tiny.extras}
    return params


@pytest.mark.parametrize("name", registry.names())
def test_fit_save_load_scores_the_same(name, tiny, tmp_path):
    entry = registry.get(name)
    model = registry.create(name, **_params(name, tiny))
    path = tmp_path / (f"{name}.npz" if entry.saves_to == "file" else name)
    if entry.fits_on == "sequences":
        split = tiny.sequences
        model.fit(split.train, split.val)
        saved = model.save(path)
        again = persist.LOADERS[name](path)
        inputs = split.test.inputs
        before, after = model.score_sequences(inputs), again.score_sequences(inputs)
        lists = (model.recommend_sequences(inputs, 10), again.recommend_sequences(inputs, 10))
    else:
        model.fit(tiny.train, tiny.items)
        saved = model.save(path)
        again = persist.LOADERS[name](path)
        before, after = model.score(tiny.users), again.score(tiny.users)
        lists = (model.recommend(tiny.users, 10), again.recommend(tiny.users, 10))
    assert saved.exists() and type(again) is type(model) and again.name == model.name
    assert before.shape == (len(lists[0].index), len(tiny.items)) and np.isfinite(before).all()
    np.testing.assert_array_equal(after, before)
    np.testing.assert_array_equal(lists[1].index, lists[0].index)


def test_tune_and_persist_list_every_registered_recommender():
    names = registry.names()
    assert len(names) == len(set(names)) >= 15
    assert list(tune.MODELS) == names and list(persist.LOADERS) == names
    # grid-searched: the six of notebook 06, in its order, with the spaces they always had
    grid_searched = ["popularity", "recent_popularity", "item_knn", "ease", "als", "bpr"]
    assert list(tune.search_space("smoke")) == grid_searched
    assert tune.search_space("default")["ease"]["l2"] == [
        250.0,
        500.0,
        1000.0,
        2000.0,
        4000.0,
        8000.0,
    ]
    assert tune.search_space("full") == tune.search_space("default")
    # every class saved as one .npz is one a file may name, and nothing else is
    assert set(persist.KINDS) == {"Popularity", "RecentPopularity", "ItemKNN", "EASE", "ALS", "BPR"}
    assert set(TINY) <= set(names)


def test_every_provider_registers_something():
    modules = {e.module for e in registry.entries().values()}
    assert set(registry.PROVIDERS) <= modules  # the KG and explain layers' models included


def test_every_module_that_registers_is_a_provider():
    """An entry in a module missing from ``PROVIDERS`` would never be found: the scan (``ast``,
    no imports) finds every call of ``register(...)`` in the library."""
    import ast
    from pathlib import Path

    lib = Path(registry.__file__).resolve().parents[3]
    calling = set()
    for path in (lib / "shopintent").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            if getattr(node.func, "id", getattr(node.func, "attr", "")) == "register":
                calling.add(".".join(path.relative_to(lib).with_suffix("").parts))
    assert calling - {"shopintent.models.recommenders.registry"} == set(registry.PROVIDERS)


def test_unknown_names_and_double_registration_are_refused():
    with pytest.raises(KeyError, match="unknown recommender 'nope'.*ease"):
        registry.get("nope")
    with pytest.raises(KeyError, match="nope"):
        tune.MODELS["nope"]
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("ease", "some.other.module:EASE")
    with pytest.raises(ValueError, match="fitted on sequences"):
        tune.tune("lstm", {}, None, None)


def test_a_new_recommender_is_one_class_and_one_entry(tiny, tmp_path):
    """The module docstring's recipe: register a class and tune, persist and create know it."""
    from shopintent.models.recommenders.baselines import Popularity

    class MostViewed(Popularity):
        name = "most_viewed_test"

    registry.register("most_viewed_test", MostViewed, space={"default": {}})
    try:
        assert "most_viewed_test" in tune.MODELS and "most_viewed_test" in persist.LOADERS
        assert "most_viewed_test" in tune.search_space("smoke")
        tuned = tune.tune("most_viewed_test", {}, tiny.train, tiny.items)
        again = persist.load("most_viewed_test", tuned.model.save(tmp_path / "m.npz"))
        np.testing.assert_array_equal(again.score(tiny.users), tuned.model.score(tiny.users))
    finally:
        registry._ENTRIES.pop("most_viewed_test")


def test_listing_names_imports_no_keras():
    import subprocess
    import sys

    code = (
        "import sys; from shopintent.models.recommenders import registry, tune; "
        "names = list(tune.MODELS); tune.search_space('smoke'); "
        "print(len(names), 'keras' in sys.modules, 'tensorflow' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = run.stdout.split()
    assert out == [str(len(registry.names())), "False", "False"]
