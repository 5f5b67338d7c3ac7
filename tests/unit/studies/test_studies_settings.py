"""Every study's ``Settings.for_profile``: the values the notebooks read by profile before the
settings moved into the studies (written out by hand), overrides, and an unknown profile."""

import dataclasses

import pytest

from shopintent.studies import (
    ab_testing,
    explainability,
    knowledge_graph,
    purchase_intent,
    query_understanding,
    recommender_baselines,
    review_sentiment,
    sequential_recommender,
    session_models,
    spark_scaling,
    text_features,
    two_tower_retrieval,
)

EXPECTED = {
    text_features: {
        "smoke": dict(
            corpus_sample=5_000,
            embed_limit=20_000,
            judged_test=100,
            judged_validation=50,
            judged_items=1_500,
            domain_adaptation=False,
        ),
        "default": dict(
            corpus_sample=None,
            embed_limit=None,
            judged_test=500,
            judged_validation=250,
            judged_items=10_000,
            domain_adaptation=False,
        ),
        "full": dict(
            corpus_sample=None,
            embed_limit=None,
            judged_test=2_000,
            judged_validation=500,
            judged_items=None,
            domain_adaptation=True,
        ),
    },
    query_understanding: {
        "smoke": dict(
            query_sizes=(600, 150, 400),
            curve_sizes=(50, 150, 600),
            real_queries=500,
            catalogue_names=True,
            epochs=2,
        ),
        "default": dict(
            query_sizes=(3_000, 400, 2_000),
            curve_sizes=(100, 300, 1_000, 3_000),
            real_queries=3000,
            catalogue_names=True,
            epochs=5,
        ),
        "full": dict(
            query_sizes=(30_000, 3_000, 20_000),
            curve_sizes=(100, 1_000, 10_000, 30_000),
            real_queries=20000,
            catalogue_names=True,
            epochs=4,
        ),
    },
    review_sentiment: {
        "smoke": dict(review_length=32, review_sizes=(400, 100, 300)),
        "default": dict(review_length=64, review_sizes=(4_000, 600, 1_500)),
        "full": dict(review_length=256, review_sizes=(100_000, 10_000, 20_000)),
    },
    purchase_intent: {"smoke": dict(epochs=6), "default": dict(epochs=8), "full": dict(epochs=20)},
    recommender_baselines: {
        "smoke": dict(msr_val_repeats=1),
        "default": dict(msr_val_repeats=2),
        "full": dict(msr_val_repeats=2),
    },
    sequential_recommender: {
        "smoke": dict(dim=32, max_len=20, epochs=4, patience=2),
        "default": dict(dim=64, max_len=50, epochs=6, patience=2),
        "full": dict(dim=128, max_len=100, epochs=40, patience=3),
    },
    session_models: {
        "smoke": dict(
            search_points=None,
            gru4rec_points=None,
            gru4rec_epochs=2,
            gru4rec_clicks=0,
            gru4rec_layers=64,
            gru4rec_samples=256,
            max_val_prefixes=300,
            days=7,
            max_train_clicks=8_000,
            max_test_sessions=150,
        ),
        "default": dict(
            search_points=3,
            gru4rec_points=0,
            gru4rec_epochs=10,
            gru4rec_clicks=450_000,
            gru4rec_layers=100,
            gru4rec_samples=512,
            max_val_prefixes=600,
            days=7,
            max_train_clicks=40_000,
            max_test_sessions=500,
        ),
        "full": dict(
            search_points=20,
            gru4rec_points=10,
            gru4rec_epochs=10,
            gru4rec_clicks=0,
            gru4rec_layers=0,
            gru4rec_samples=0,
            max_val_prefixes=0,
            days=7,
            max_train_clicks=0,
            max_test_sessions=0,
        ),
    },
    knowledge_graph: {
        "smoke": dict(homedepot_queries=300, test_queries=1000, load_tagger=False),
        "default": dict(homedepot_queries=2000, test_queries=5000, load_tagger=True),
        "full": dict(homedepot_queries=2000, test_queries=5000, load_tagger=True),
    },
    explainability: {
        "smoke": dict(
            n_shap=300, n_sessions=16, n_texts=6, n_faithful=40, epochs=3, max_evals=100, n_users=3
        ),
        "default": dict(
            n_shap=2000,
            n_sessions=80,
            n_texts=12,
            n_faithful=200,
            epochs=8,
            max_evals=300,
            n_users=5,
        ),
        "full": dict(
            n_shap=2000,
            n_sessions=80,
            n_texts=12,
            n_faithful=200,
            epochs=8,
            max_evals=300,
            n_users=5,
        ),
    },
    ab_testing: {
        "smoke": dict(n_reps=200, n_rounds=20_000),
        "default": dict(n_reps=500, n_rounds=100_000),
        "full": dict(n_reps=1000, n_rounds=300_000),
    },
    spark_scaling: {
        "smoke": dict(small_inputs=True),
        "default": dict(small_inputs=False),
        "full": dict(small_inputs=False),
    },
}


def _name(module) -> str:
    return module.__name__.rsplit(".", 1)[-1]


@pytest.mark.parametrize("profile", ["smoke", "default", "full"])
@pytest.mark.parametrize("study", list(EXPECTED), ids=_name)
def test_settings_by_profile_are_the_notebooks_values(study, profile):
    settings = study.Settings.for_profile(profile)
    assert {k: getattr(settings, k) for k in EXPECTED[study][profile]} == EXPECTED[study][profile]
    assert set(EXPECTED[study][profile]) == {f.name for f in dataclasses.fields(settings)}


def test_overrides_replace_a_field_unless_none():
    s = ab_testing.Settings.for_profile("smoke", n_reps=7, n_rounds=None)
    assert (s.n_reps, s.n_rounds) == (7, 20_000)
    s = sequential_recommender.Settings.for_profile("default", epochs=None, max_len=12)
    assert (s.epochs, s.max_len, s.dim) == (6, 12, 64)
    with pytest.raises(TypeError):
        purchase_intent.Settings.for_profile("smoke", epoch=3)  # a misspelt knob is not ignored
    with pytest.raises(AttributeError):
        purchase_intent.Settings.for_profile("smoke").epochs = 3  # frozen


def test_judged_sizes_are_judged_task_arguments():
    assert text_features.Settings.for_profile("smoke").judged_sizes == {
        "n_test": 100,
        "n_validation": 50,
        "n_items": 1_500,
    }


def test_spark_session_options_small_on_smoke_only():
    from shopintent.data.spark.session import SMALL_INPUTS

    assert spark_scaling.Settings.for_profile("smoke").session_options == SMALL_INPUTS
    for profile in ("default", "full"):  # Spark's own settings: the ones its seconds are read for
        assert spark_scaling.Settings.for_profile(profile).session_options == {}


@pytest.mark.parametrize("study", [*EXPECTED, two_tower_retrieval], ids=_name)
def test_unknown_profile_names_the_valid_ones(study):
    with pytest.raises(ValueError, match="'tiny'.*smoke, default, full"):
        study.Settings.for_profile("tiny")


def test_two_tower_settings_by_profile():
    smoke = two_tower_retrieval.Settings.for_profile("smoke", seed=7)
    (shop,), (ml,) = smoke.configs, smoke.movielens_configs
    assert (shop.dim, shop.hidden, shop.learning_rate, shop.epochs, shop.batch_size, shop.seed) == (
        32,
        (64,),
        3e-3,
        3,
        256,
        7,
    )
    assert (shop.optimizer, shop.user_id) == ("adam", False)
    assert (ml.dim, ml.hidden, ml.learning_rate, ml.epochs) == (32, (64,), 1e-2, 1)
    assert ml.batch_size == 1024
    assert (ml.user_id, ml.history_mode, ml.val_metric) == (True, "others", "recall@100")
    assert (smoke.ranker.epochs, smoke.ranker.batch_size, smoke.ranker.seed) == (3, 256, 7)
    assert (smoke.max_users, smoke.encode_limit, smoke.val_frac) == (300, 0, 0.2)
    default = two_tower_retrieval.Settings.for_profile("default")
    (shop,), (ml,) = default.configs, default.movielens_configs
    assert (shop.dim, shop.learning_rate, shop.epochs, shop.patience) == (64, 1e-3, 6, 1)
    assert shop.seed == 42
    assert (ml.dim, ml.learning_rate, ml.epochs, ml.patience, ml.history) == (32, 1e-2, 6, 1, 50)
    assert (default.max_users, default.encode_limit, default.ranker.epochs) == (None, 5000, 8)
    full = two_tower_retrieval.Settings.for_profile("full")
    assert len(full.configs) == 12 and {c.dim for c in full.configs} == {32, 64, 128}
    assert {(c.learning_rate, c.user_id, c.epochs) for c in full.configs} == {
        (lr, u, 12) for lr in (1e-3, 3e-3) for u in (False, True)
    }
    assert {(c.dim, c.learning_rate, c.epochs) for c in full.movielens_configs} == {
        (d, lr, 20) for d in (32, 64) for lr in (3e-3, 1e-2)
    }
    assert (full.ranker.epochs, full.max_epochs) == (15, 12)
    assert two_tower_retrieval.Settings.for_profile("smoke", encode_limit=5000).encode_limit == 5000
    assert two_tower_retrieval.Settings.for_profile("smoke", encode_limit=None).encode_limit == 0


@pytest.mark.parametrize("profile", ["smoke", "default", "full"])
def test_adaptation_trains_the_blocks_the_fine_tune_trains(profile):
    """Blocks adapted below the fine-tune's would stay frozen with their masked-LM drift."""
    from shopintent.models.text import domain_adapt, dual_encoder

    adapted = domain_adapt.adapt_config(profile).trainable_layers
    assert adapted == dual_encoder.dual_encoder_config(profile).trainable_layers
