"""Protocols around the two-tower models: settings chosen on validation, cold-item recall, the
TFRS tutorials' protocol on MovieLens, and the figures of notebook 07.

- ``tune_two_tower``: each candidate config is fitted on the earlier part of training and scored
  on the validation part after every epoch (``TwoTowerRecommender.fit(val=...)``); the best
  config and epoch are then refitted on all of training by the caller.
- ``cold_item_holdout``: a seeded share of the catalogue's trained items loses every training
  event (items "launched" after the cut-off); ``cold_item_recall`` is recall@k of the test
  interactions with those items, ranking the whole catalogue. A model that needs an item's
  interactions (popularity, EASE) scores them 0 by construction.
- ``top_k_accuracy``: the TFRS tutorials' "factorized top-100 accuracy": the share of *test
  interactions* whose item is in the user's top k, with or without the user's training items
  among the candidates (the tutorials keep them). ``factorized_top_k_accuracy`` computes the
  same with TFRS's own ``FactorizedTopK`` metric, as a check.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.config import DEFAULT_SEED, rng
from shopintent.data.schema import known_user_events
from shopintent.data.splits import random_split
from shopintent.evaluation.bootstrap import paired_bootstrap_diff
from shopintent.evaluation.ranking import evaluate_ranking, ranking_per_user
from shopintent.models.recommenders.base import Recommender
from shopintent.models.recommenders.evaluate import RecTask
from shopintent.models.recommenders.two_tower.model import (
    TwoTowerConfig,
    TwoTowerRecommender,
    import_tfrs,
)
from shopintent.models.recommenders.two_tower.ranking import (
    NothingToRank,
    RankedTwoTower,
    RankerConfig,
)
from shopintent.studies.artefacts import fingerprint, reuse_or_fit
from shopintent.studies.settings import check_profile

#: published figures of the TFRS tutorials on MovieLens-100K (random 80/20, seen items kept)
TFRS_PUBLISHED = {"basic retrieval (tutorial)": 0.23, "deep, 2 layers (tutorial)": 0.29}


@dataclass(frozen=True)
class Settings:
    """What notebook 07 tries, by profile: the two-tower grid for the shop (``configs``; their
    ``epochs`` is the most validation may pick), the grid for MovieLens, the ranker, and the
    share of training that validates."""

    configs: tuple[TwoTowerConfig, ...]
    movielens_configs: tuple[TwoTowerConfig, ...]
    ranker: RankerConfig
    val_frac: float = 0.2
    max_users: int | None = None  # sections 1-7 on a seeded sample of users (smoke); None: all
    encode_limit: int = 5000  # encode item titles with MiniLM now up to this many distinct titles

    @property
    def max_epochs(self) -> int:
        return max(c.epochs for c in self.configs)

    @classmethod
    def for_profile(cls, profile: str, seed: int = DEFAULT_SEED, **overrides) -> Settings:
        """The profile's grid (``_by_profile``); an override replaces a field unless it is None."""
        out = _by_profile(check_profile(profile), seed)
        return replace(out, **{k: v for k, v in overrides.items() if v is not None})


def _by_profile(profile: str, seed: int = DEFAULT_SEED) -> Settings:
    """smoke: one point, a few epochs, small batches (seconds); default: the validated point,
    measured to fit notebooks 06-08 in 15 minutes on 2 cores; full: a wider grid."""
    # Chosen while building notebook 07, on validation periods only (numbers: validation NDCG@10
    # on the default shop, popularity 0.075; validation recall@100 on MovieLens, popularity 0.42,
    # EASE 0.69). Shop: Adam beat Adagrad 0.1 (0.094-0.097 vs 0.076); without a user-id
    # embedding 0.097 vs 0.094 with one (it memorises training pairs from the second epoch on);
    # history "before" beat "others" (0.097 vs 0.093). MovieLens (random split): history
    # "others" (0.68 vs 0.54 "before": the test ratings lie among the training ones in time), a
    # user-id embedding helps there (0.68 vs 0.67), lr 1e-2 converges in half the epochs.
    base = TwoTowerConfig(optimizer="adam", user_id=False, seed=seed)
    ml = dict(val_metric="recall@100", batch_size=1024, user_id=True, history_mode="others", dim=32)
    if profile == "smoke":
        shop = (replace(base, dim=32, hidden=(64,), learning_rate=3e-3, epochs=3, batch_size=256),)
        movielens = (replace(base, hidden=(64,), learning_rate=1e-2, epochs=1, **ml),)
        return Settings(
            shop,
            movielens,
            RankerConfig(epochs=3, seed=seed, batch_size=256),
            max_users=300,
            encode_limit=0,
        )
    if profile == "default":
        # one point, the winner of (64, 1e-3) vs (32, 3e-3) on validation (0.1164 vs 0.1137):
        # the grid cost 17 s
        shop = (replace(base, dim=64, learning_rate=1e-3, epochs=6, patience=1),)
        movielens = (replace(base, learning_rate=1e-2, epochs=6, patience=1, history=50, **ml),)
        return Settings(shop, movielens, RankerConfig(seed=seed))
    shop = tuple(
        replace(base, dim=d, learning_rate=lr, user_id=u, epochs=12)
        for d in (32, 64, 128)
        for lr in (1e-3, 3e-3)
        for u in (False, True)
    )
    movielens = tuple(
        replace(base, learning_rate=lr, epochs=20, history=50, **{**ml, "dim": d})
        for d in (32, 64)
        for lr in (3e-3, 1e-2)
    )
    return Settings(shop, movielens, RankerConfig(epochs=15, seed=seed))


def sample_users(
    events: pd.DataFrame, max_users: int | None, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """The events of a seeded sample of ``max_users`` users (all of them when None or fewer);
    events without a user id (anonymous sessions) are left out: they belong to no user
    (``schema.known_user_events``)."""
    events = known_user_events(events)
    users = np.sort(pd.unique(events["user_id"]).astype(str))
    if max_users is None or len(users) <= max_users:
        return events
    keep = rng(seed, "sample_users").choice(users, int(max_users), replace=False)
    return events[events["user_id"].astype(str).isin(keep)]


@dataclass
class TwoTowerTuned:
    """The chosen config (``epochs`` = the best validation epoch), every config's validation
    row, the best model fitted on the inner part, and that inner training / validation data."""

    config: TwoTowerConfig
    table: pd.DataFrame
    inner_model: TwoTowerRecommender
    inner_train: pd.DataFrame
    val: pd.DataFrame
    histories: dict[
        str, pd.DataFrame
    ]  # per config ("dim 64, lr 0.001, ..."): loss and metric per epoch


def carve_validation(
    train: pd.DataFrame, how: str = "temporal", frac: float = 0.2, seed: int = DEFAULT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(inner training, validation) from ``train``: the last ``frac`` by time, or a seeded random
    ``frac`` of rows (``how="random"``, for the random TFRS protocol)."""
    if how == "random":
        inner = random_split(train, test_frac=frac, seed=rng(seed, "two_tower_validation"))
        return inner.train, inner.test
    from shopintent.models.recommenders.tune import validation_split

    inner = validation_split(train, how, frac, seed)
    return inner.train, inner.val


def known_users_with_new_items(task: RecTask) -> int:
    """How many of ``task``'s users have a training history and a new item: the users a user
    tower can be scored on (an unknown user gets every model's popularity list)."""
    known = task.train.user_index(task.users) >= 0
    return int((known & (np.diff(task.truth.indptr) > 0)).sum())


def retrieval_skip_reason(task: RecTask, val_task: RecTask, dataset: str) -> str | None:
    """None when the test and the validation each hold a user known in (their) training with a
    new item, else why retrieval for users cannot be chosen or measured on this split: without
    such a test user every model returns popularity; without such a validation user the towers'
    settings and epochs (and the ranker) have nothing to learn from."""
    if task.truth.nnz == 0:
        return f"{dataset}: no test user has an item not seen in training: nothing to retrieve"
    if known_users_with_new_items(task) == 0:
        return (
            f"{dataset}: none of the {len(task.users):,} test users with a new item has a "
            "training history (each user id lives in one period only, e.g. one basket per id): "
            "a user tower has no one to retrieve for, every model would return popularity"
        )
    if known_users_with_new_items(val_task) == 0:
        return (
            f"{dataset}: none of the {len(val_task.users):,} validation users has a history "
            "earlier in training and a new item (where times are only relative within a user, "
            "the last period holds newcomers): the towers' settings and epochs cannot be chosen"
        )
    return None


def tune_two_tower(
    train: pd.DataFrame,
    items: pd.DataFrame,
    configs: list[TwoTowerConfig],
    text: np.ndarray | None = None,
    *,
    how: str = "temporal",
    frac: float = 0.2,
    seed: int = DEFAULT_SEED,
    name: str | None = None,
    validation: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> TwoTowerTuned:
    """Fit each config on the inner part with per-epoch validation; keep best (config, epoch)."""
    if not configs:
        raise ValueError("tune_two_tower: give at least one config")
    inner_train, val = (
        validation if validation is not None else carve_validation(train, how, frac, seed)
    )
    rows, models, histories = [], [], {}
    for cfg in configs:
        t0 = time.perf_counter()
        model = TwoTowerRecommender(cfg, text, name=name).fit(inner_train, items, val=val)
        metric = f"val_{cfg.val_metric}"
        rows.append(
            {
                **{
                    k: v
                    for k, v in asdict(cfg).items()
                    if k
                    in ("dim", "hidden", "learning_rate", "optimizer", "user_id", "item_id_dropout")
                },
                "best_epoch": model.best_epoch_,
                metric: float(model.history_[metric].max()),
                "epochs_run": len(model.history_),
                "fit_s": round(time.perf_counter() - t0, 1),
            }
        )
        models.append(model)
        histories[
            f"dim {cfg.dim}, lr {cfg.learning_rate:g}" + (", user id" if cfg.user_id else "")
        ] = model.history_
    table = pd.DataFrame(rows)
    best = int(np.argmax(table.iloc[:, table.columns.str.startswith("val_")].to_numpy()[:, 0]))
    return TwoTowerTuned(
        replace(configs[best], epochs=int(table["best_epoch"][best])),
        table.sort_values(table.columns[table.columns.str.startswith("val_")][0], ascending=False),
        models[best],
        inner_train,
        val,
        histories,
    )


def text_vectors(
    shop, dataset: str, profile: str, mode: str = "auto", encode_limit: int = 5000, seed: int = 0
) -> tuple[np.ndarray | None, str]:
    """(item text vectors aligned with ``shop.items``, a sentence saying where they come from):
    ``embeddings.item_text_vectors``' rule, with TF-IDF + SVD of the item texts as the fallback."""
    from shopintent.features.text import embeddings
    from shopintent.models.recommenders.two_tower.features import tfidf_item_vectors

    def tfidf() -> tuple[np.ndarray, str]:
        return tfidf_item_vectors(shop.items, seed=seed), "TF-IDF + SVD vectors of the item titles"

    # plain TensorFlow: for a few thousand titles XLA's per-bucket compile costs more than it saves
    found = embeddings.item_text_vectors(
        shop,
        dataset,
        profile,
        mode,
        encode_limit,
        fallback=tfidf,
        encoder_options={"jit_compile": False},
    )
    if found.minilm:
        return found.aligned("items", shop.items["item_id"]), found.note
    return found.vectors, found.note


def interactions_fingerprint(data) -> str:
    """The fingerprint of an interaction matrix and its user and item ids."""
    return fingerprint(
        np.asarray(data.user_ids, dtype=str), np.asarray(data.item_ids, dtype=str), data.matrix
    )


def saved_or_fitted_ease(
    dataset: str,
    profile: str,
    train: pd.DataFrame,
    items: pd.DataFrame,
    folds: list,
    seed: int = DEFAULT_SEED,
) -> tuple[Recommender, str]:
    """The EASE notebook 06 saved if it was fitted on exactly these training interactions (same
    users, items and weights), so that a run-all does not tune it twice; else EASE tuned here on
    ``folds``. Returns (model, a sentence saying which)."""
    from shopintent.models.recommenders import registry, tune
    from shopintent.models.recommenders.base import build_interactions
    from shopintent.studies import recommender_baselines as comparison

    def fit() -> tuple[Recommender, str]:
        tuned = tune.tune(
            "ease", tune.search_space(profile)["ease"], train, items, folds=folds, seed=seed
        )
        return tuned.model, f"{tuned.params}, validation NDCG@10 {tuned.val_score:.4f}"

    def mine(saved) -> str:  # these interactions, weighted as the saved model weighs them
        mine = build_interactions(train, items["item_id"], weights=saved.weights)
        return interactions_fingerprint(mine)

    def load(path):
        return registry.load("ease", path) if path.is_file() else None

    def fitted_on(saved) -> str:
        return interactions_fingerprint(saved.data_)

    folder = comparison.model_dir(dataset, profile) / "ease.npz"
    model, note, _ = reuse_or_fit(folder, mine, fit, load, fitted_on, what="EASE")
    return model, note


# -- cold items -----------------------------------------------------------------------------


def cold_item_holdout(
    train: pd.DataFrame, items: pd.DataFrame, frac: float = 0.1, seed: int = DEFAULT_SEED
) -> tuple[pd.DataFrame, np.ndarray]:
    """(training events without the cold items, boolean mask of cold items over the catalogue).

    Cold items are a seeded ``frac`` of the items that have training events."""
    if not 0 < frac < 1:
        raise ValueError(f"frac must be in (0, 1), got {frac}")
    trained = pd.Index(pd.unique(train["item_id"].dropna()))
    n = max(1, int(round(frac * len(trained))))
    chosen = pd.Index(
        rng(seed, "cold_items").choice(np.sort(trained.to_numpy().astype(str)), n, replace=False)
    )
    cold = items["item_id"].astype(str).isin(chosen).to_numpy()
    return train[~train["item_id"].astype(str).isin(chosen)], cold


def cold_item_recall(model: Recommender, task: RecTask, cold: np.ndarray, k: int = 50) -> dict:
    """Recall@k of the test interactions with cold items (users with at least one), full ranking."""
    has = np.asarray(task.truth[:, np.flatnonzero(cold)].sum(axis=1)).ravel() > 0
    if not has.any():
        return {f"cold_item_recall@{k}": float("nan"), "cold_item_users": 0, "cold_item_pairs": 0}
    users = task.users[has]
    recs = model.recommend(users, k).index
    truth = task.truth[np.flatnonzero(has)]
    out = evaluate_ranking(recs, truth, (k,), relevant_items=cold)
    return {
        f"cold_item_recall@{k}": out[f"recall@{k}"],
        "cold_item_users": int(has.sum()),
        "cold_item_pairs": int(truth[:, np.flatnonzero(cold)].nnz),
    }


# -- the TFRS tutorials' protocol ----------------------------------------------------------


def top_k_accuracy(
    model: Recommender, test: pd.DataFrame, k: int = 100, exclude_seen: bool = False
) -> float:
    """Share of the ``test`` rows (user, item) whose item is in the user's top ``k``."""
    test = test[test["item_id"].notna()]
    users = pd.unique(test["user_id"])
    recs = model.recommend(users, k, exclude_seen=exclude_seen).index
    n_items = model.data_.n_items
    valid = recs >= 0
    listed = sp.csr_matrix(
        (np.ones(int(valid.sum())), (np.nonzero(valid)[0], recs[valid])),
        shape=(len(users), n_items),
    )
    u = pd.Index(users).get_indexer(test["user_id"])
    i = model.data_.item_ids.get_indexer(test["item_id"])
    hit = np.zeros(len(test), dtype=bool)
    ok = i >= 0
    hit[ok] = np.asarray(listed[u[ok], i[ok]]).ravel() > 0
    return float(hit.mean())


def factorized_top_k_accuracy(
    model: TwoTowerRecommender, test: pd.DataFrame, k: int = 100
) -> float:
    """``top_k_accuracy`` (seen items kept) computed by ``tfrs.metrics.FactorizedTopK`` over a
    ``BruteForce`` index of all item vectors: the tutorials' own metric, for test users known
    in training (the metric needs their query vectors)."""
    tfrs = import_tfrs()
    import tensorflow as tf

    test = test[test["item_id"].notna()]
    rows = model.data_.user_index(test["user_id"])
    items = model.data_.item_ids.get_indexer(test["item_id"])
    ok = (rows >= 0) & (items >= 0)
    index = tfrs.layers.factorized_top_k.BruteForce(k=k)
    index.index(tf.constant(model.item_vectors_))
    metric = tfrs.metrics.FactorizedTopK(candidates=index, ks=(k,))
    q, c = model.user_vectors_[rows[ok]], model.item_vectors_[items[ok]]
    for lo in range(0, len(q), 4096):
        metric.update_state(tf.constant(q[lo : lo + 4096]), tf.constant(c[lo : lo + 4096]))
    return float(metric.result()[0])


def tfrs_protocol_table(
    models: dict[str, Recommender], test: pd.DataFrame, k: int = 100
) -> pd.DataFrame:
    """One row per model: top-k accuracy with seen items kept (as the tutorials) and removed."""
    rows = [
        {
            "model": name,
            f"top{k}_accuracy": top_k_accuracy(m, test, k, exclude_seen=False),
            f"top{k}_accuracy_seen_removed": top_k_accuracy(m, test, k, exclude_seen=True),
        }
        for name, m in models.items()
    ]
    rows += [
        {
            "model": f"published: {name}",
            f"top{k}_accuracy": value,
            f"top{k}_accuracy_seen_removed": np.nan,
        }
        for name, value in TFRS_PUBLISHED.items()
    ]
    return pd.DataFrame(rows).set_index("model")


# -- the ranking stage's gain ---------------------------------------------------------------


def fit_ranking_stage(
    retrieval: TwoTowerRecommender,
    config: RankerConfig,
    inner: TwoTowerRecommender,
    val: pd.DataFrame,
) -> tuple[RankedTwoTower | None, str | None]:
    """(the ranker over ``retrieval`` trained on ``inner``'s candidates for ``val``, None), or
    (None, why) when validation gives it nothing to learn (``NothingToRank``): the notebook
    then reports retrieval without the ranking stage."""
    try:
        return RankedTwoTower(retrieval, config).fit_ranker(inner, val), None
    except NothingToRank as e:
        return None, f"the ranking stage is skipped: {e}"


def paired_gain(
    ranked: np.ndarray,
    base: np.ndarray,
    task: RecTask,
    metric: str = "ndcg@10",
    n_boot: int = 1000,
    seed: int = DEFAULT_SEED,
):
    """Mean per-user difference (ranked - base) of ``metric`` with a paired bootstrap interval."""
    k = int(metric.split("@")[1])
    a = ranking_per_user(ranked, task.truth, (k,))[metric].to_numpy()
    b = ranking_per_user(base, task.truth, (k,))[metric].to_numpy()
    return paired_bootstrap_diff(a, b, n_boot=n_boot, seed=seed)


# -- figures --------------------------------------------------------------------------------


def results_figure(table: pd.DataFrame, metric: str = "ndcg@10"):
    """Bars of ``metric`` per model with its 95% bootstrap interval (``evaluate_recs`` columns)."""
    import plotly.graph_objects as go

    t = table.sort_values(metric)
    err = (
        {
            "type": "data",
            "array": t[f"{metric}_high"] - t[metric],
            "arrayminus": t[metric] - t[f"{metric}_low"],
        }
        if f"{metric}_low" in t
        else None
    )
    fig = go.Figure(go.Bar(x=t[metric], y=t.index, orientation="h", error_x=err))
    fig.update_layout(
        title=f"{metric.upper()} on the test period (95% bootstrap interval over users)",
        xaxis_title=metric,
        height=120 + 40 * len(t),
    )
    return fig


def protocol_figure(table: pd.DataFrame, k: int = 100):
    """Top-k accuracy per model, seen items kept vs removed, with the tutorials' published lines."""
    import plotly.graph_objects as go

    own = table[~table.index.str.startswith("published")]
    fig = go.Figure(
        [
            go.Bar(
                name="seen items kept (as the tutorials)", x=own.index, y=own[f"top{k}_accuracy"]
            ),
            go.Bar(name="seen items removed", x=own.index, y=own[f"top{k}_accuracy_seen_removed"]),
        ]
    )
    for name, value in TFRS_PUBLISHED.items():
        fig.add_hline(y=value, line_dash="dot", annotation_text=f"{name} {value}")
    fig.update_layout(
        barmode="group",
        title=f"MovieLens-100K, TFRS protocol (random 80/20, seed 42): top-{k} accuracy",
        yaxis_title=f"top-{k} accuracy",
    )
    return fig


def training_figure(histories: dict[str, pd.DataFrame], metric: str = "val_ndcg@10"):
    """Validation metric per epoch of each fit (the epoch kept is each curve's maximum)."""
    import plotly.graph_objects as go

    fig = go.Figure(
        [
            go.Scatter(x=h["epoch"], y=h[metric], mode="lines+markers", name=name)
            for name, h in histories.items()
            if metric in h
        ]
    )
    fig.update_layout(
        title=f"{metric} per epoch on the validation period",
        xaxis_title="epoch",
        yaxis_title=metric,
    )
    return fig
