"""Notebook 09's gated steps: each returns its result where the data can serve it, else None and
one line naming what is missing (the smoke shop, and the same shop without what a step needs)."""

import pytest

from shopintent.data.capabilities import Capabilities
from shopintent.data.splits import temporal_split
from shopintent.data.store import ShopData
from shopintent.kg import build, linking
from shopintent.models.recommenders.evaluate import make_task
from shopintent.studies import knowledge_graph as study


def _without(shop: ShopData, *, users=False, truth=False) -> ShopData:
    events = shop.events.assign(user_id=None) if users else shop.events
    extras = {k: v for k, v in shop.extras.items() if not (truth and k == "session_truth")}
    return ShopData.from_tables(
        events=events,
        items=shop.items,
        queries=shop.queries,
        reviews=shop.reviews,
        extras=extras,
        meta={**shop.meta, "dataset": "tiny"},
    )


@pytest.fixture(scope="module")
def world(smoke_shop):
    """The smoke shop's graph from its training period, its test task and an entity linker."""
    shop = _without(smoke_shop)  # a copy named "tiny"
    split = temporal_split(shop.events, test_frac=0.2)
    task = make_task(split.train, split.test, shop.items, split.protocol)
    kg = build.build_kg(shop.items, split.train, shop.queries, extras=shop.extras)
    linker = linking.EntityLinker(kg, linking.title_category_aliases(kg, shop.items))
    return shop, split, task, kg, linker


def _end_to_end(caps, links, linker, shop):
    """End-to-end linking without the neural tagger (TAGGER_DIR = None)."""
    return study.end_to_end_linking(
        caps,
        links,
        linker,
        shop,
        tagger_dir=None,
        dataset="tiny",
        profile="smoke",
        load_tagger=False,
    )


def test_linking_without_the_truth_names_it(world):
    shop, split, _, _, linker = world
    caps = Capabilities.of(_without(shop, truth=True))
    links, why = study.linking_accuracy(caps, linker, shop, split.test, 50)
    assert links is None and why.endswith("skipped: no session_truth table (ground truth)")
    for result, why in (
        _end_to_end(caps, links, linker, shop),
        study.judged_linking(caps, "homedepot", None, 10),
    ):
        assert result is None and "no session_truth table" in why


def test_linking_with_the_truth_scores_gold_and_found_spans(world):
    shop, split, _, _, linker = world
    caps = Capabilities.of(shop)
    links, why = study.linking_accuracy(caps, linker, shop, split.test, 50)
    assert why is None and len(links.test_queries) == 50
    assert 0 < links.metrics["kg/entity_linking/accuracy"] <= 1
    assert 0 < links.metrics["kg/entity_linking/spans"] <= len(links.linked)  # those with a truth
    assert links.errors["correct"].eq(False).all() and links.typos.shape[1] == 7
    found, why = _end_to_end(caps, links, linker, shop)
    assert why is None and set(found.table.index) == {"kg_gazetteer", "catalog_gazetteer"}
    assert "TAGGER_DIR = None" in found.tagger_note
    assert set(found.metrics) == {
        f"kg/entity_linking/{t}/end_to_end_accuracy" for t in ("kg_gazetteer", "catalog_gazetteer")
    }
    judged, why = study.judged_linking(caps, None, None, 10)
    assert judged is None and why == "tiny: section 2b skipped: no dataset of judged queries given"


def test_every_recommendation_step_without_user_ids_says_so(world):
    shop, split, task, kg, _ = world
    caps = Capabilities.of(_without(shop, users=True))
    blend, why = study.blend_with_kg(
        caps,
        kg,
        shop,
        split.train,
        base_model="ease",
        grid=None,
        profile="smoke",
        alpha=0.7,
        max_neighbours=20,
    )
    assert blend is None and why == "tiny: section 3 (KG-aware recommendation) skipped: no user ids"
    evaluation, why = study.evaluate_blend(caps, blend, split.train, shop.items, task)
    assert evaluation is None and why.endswith("skipped: no user ids")
    paths, why = study.explanation_paths(caps, evaluation, kg, task)
    assert paths is None and why.endswith("skipped: no user ids")
    assert study.explanation_subgraph(caps, paths)[1].endswith("skipped: no user ids")
    freebase, why = study.freebase_comparison(
        caps, blend, shop, split.train, task, max_neighbours=20
    )
    assert freebase is None and "no user ids; no knowledge-graph triples" in why


def test_the_recommendation_steps_where_users_are_known(world):
    shop, split, task, kg, _ = world
    caps = Capabilities.of(shop)
    blend, why = study.blend_with_kg(
        caps,
        kg,
        shop,
        split.train,
        base_model="ease",
        grid={"l2": [500.0]},
        profile="smoke",
        alpha=0.7,
        max_neighbours=20,
    )
    assert why is None and blend.tuned.params == {"l2": 500.0} and "blend weight" in blend.summary
    evaluation, why = study.evaluate_blend(caps, blend, split.train, shop.items, task, n_boot=20)
    name = blend.blended.name
    assert why is None and list(evaluation.rows) == ["popularity", "ease", "kg_ppr", name]
    assert {f"recs/{name}/ndcg@10_minus_ease", f"recs/{name}/blend_weight"} <= set(
        evaluation.metrics
    )
    paths, why = study.explanation_paths(caps, evaluation, kg, task)
    assert why is None and 0 <= paths.metrics["kg/explained_share"] <= 1
    assert len(paths.examples) > 0
    figure, why = study.explanation_subgraph(caps, paths)
    assert why is None and figure is not None
    # the smoke shop ships no Freebase triples: section 6 names them
    freebase, why = study.freebase_comparison(
        caps, blend, shop, split.train, task, max_neighbours=20
    )
    assert freebase is None and why.endswith(
        "no knowledge-graph triples (extra tables kg and kg_link)"
    )
