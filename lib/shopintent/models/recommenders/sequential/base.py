"""Next-item recommendation from sequences: the contract, the two baselines, and the scoring.

Sequential models take sequences (a session so far, a user's history) rather than user ids, so
they get their own small contract, ``SequenceRecommender``: ``fit(train, val)`` on
``sequential_data.Sequences`` and ``recommend_sequences(sequences, k, exclude=True)``, which
returns the same ``base.Recommendations`` as every other recommender (via ``base.top_k``: full
catalogue, exactly k distinct items, the sequence's own items excluded). ``evaluate_sequences``
scores the test prefixes of a ``SequenceSplit`` with ``evaluate.evaluate_recs`` on its
``RecTask`` (one truth row per test sequence), so the numbers sit on the same metric code as
notebooks 06 and 07.

Baselines under the same protocol (no TensorFlow here):
- ``popularity``: ``baselines.Popularity`` of the training sequences, the same list for every
  sequence (its own items removed);
- ``item_knn``: ``baselines.ItemKNN`` fitted on *session* co-occurrence (cosine with shrinkage,
  as the item-KNN baseline of GRU4Rec, Hidasi et al. 2016) and read from the end of the
  sequence: older items down-weighted by ``decay`` per step, the decay chosen on validation
  (the user-history ItemKNN of notebook 06 is order-free: decay 1 over a user's history).

The neural models (LSTM, self-attention) live in ``sequential_nets``, GRU4Rec in ``gru4rec``.
All five are registered (``registry``) as ``sequence_popularity``, ``session_item_knn``,
``lstm``, ``self_attention`` and ``gru4rec``
(the baselines' names differ from the user-based models of the same kind); each saves to a
folder (``save(path)``, ``Class.load(path)``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopintent.evaluation.ranking import ndcg_at_k, topk_from_scores
from shopintent.io import read_json, staging_dir, write_json, write_npz
from shopintent.models.recommenders.base import Recommendations, top_k
from shopintent.models.recommenders.evaluate import evaluate_recs
from shopintent.models.recommenders.registry import register
from shopintent.models.recommenders.sequential.data import NextItems, Sequences, SequenceSplit

#: the four models of notebook 08, in the order its tables show them
MODEL_NAMES = ("popularity", "item_knn", "lstm", "self_attention")


class SequenceRecommender:
    """Contract of sequence models: ``fit(train, val)`` then ``recommend_sequences``.

    Subclasses set ``name`` and implement ``_fit(train, val)`` and ``score_sequences(sequences)
    -> (n, n_items)`` dense scores over the catalogue (higher = better).
    """

    name = "sequence"

    def fit(self, train: Sequences, val: NextItems | None = None, **kwargs) -> SequenceRecommender:
        self.item_ids_ = train.item_ids
        self._fit(train, val, **kwargs)
        return self

    def _fit(self, train: Sequences, val: NextItems | None, **kwargs) -> None:
        raise NotImplementedError

    def score_sequences(self, sequences: Sequences) -> np.ndarray:
        raise NotImplementedError

    def _check_fitted(self, sequences: Sequences) -> None:
        if not hasattr(self, "item_ids_"):
            raise RuntimeError(
                f"{type(self).__name__} is not fitted: call fit(train_sequences) first"
            )
        if sequences.n_items != len(self.item_ids_):
            raise ValueError(
                f"sequences index a catalogue of {sequences.n_items} items, "
                "the model was fitted on "
                f"{len(self.item_ids_)}: build them over the same items table"
            )

    def recommend_sequences(
        self, sequences: Sequences, k: int = 10, exclude=True
    ) -> Recommendations:
        """Top-k catalogue items per sequence. ``exclude``: True removes each sequence's own items,
        a CSR ``(n, n_items)`` removes its entries, False/None nothing."""
        self._check_fitted(sequences)
        if exclude is True:
            exclude = sequences.seen()
        elif exclude is False:
            exclude = None
        return top_k(self.score_sequences(sequences), self.item_ids_, k, exclude)


def save_state(
    path: str | Path,
    model: SequenceRecommender,
    arrays: dict[str, np.ndarray],
    meta: dict,
    *,
    state: str = "state.npz",
    also: Callable[[Path], object] | None = None,
) -> Path:
    """Write a sequence model's folder: ``state`` (its arrays) and ``meta.json`` (class, name,
    settings, item ids, plus ``meta``), and whatever ``also(folder)`` writes (a fitted
    sub-model). The one way these models save: the folder is staged and renamed whole, so a
    failed save leaves nothing half-written, and ``load_state`` can refuse another class's."""
    path = Path(path)
    meta = {
        "class": type(model).__name__,
        "name": model.name,
        "settings": model._settings(),
        "item_ids": [str(i) for i in model.item_ids_],
        **meta,
    }
    with staging_dir(path) as tmp:
        if also is not None:
            also(tmp)
        write_npz(tmp / state, arrays)
        write_json(tmp / "meta.json", meta, indent=1, default=float)
    return path


def load_state(
    path: str | Path, cls: type, *, state: str = "state.npz"
) -> tuple[SequenceRecommender, dict[str, np.ndarray], dict]:
    """Read a folder written by ``save_state``: a ``cls`` built from the saved settings, with its
    name and item ids set (the rest is the caller's to restore), its arrays and its meta. A
    folder of another class fails naming both."""
    path = Path(path)
    meta = read_json(path / "meta.json")
    if meta.get("class") != cls.__name__:
        raise ValueError(f"{path}: holds a {meta.get('class')}, not a {cls.__name__}")
    model = cls(**meta["settings"])
    model.name = meta["name"]
    model.item_ids_ = pd.Index(meta["item_ids"])
    with np.load(path / state, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return model, arrays, meta


def validation_ndcg(model: SequenceRecommender, val: NextItems, k: int = 10) -> float:
    """NDCG@k of the validation targets (own items excluded): what early stopping and the
    baselines' hyper-parameters are chosen on, never the test split."""
    index = topk_from_scores(model.score_sequences(val.inputs), k, val.inputs.seen())
    return float(ndcg_at_k(index, val.truth(), k))


def training_popularity(train: Sequences) -> np.ndarray:
    """Training sequences holding each item (distinct groups, as ``item_popularity``)."""
    rows = np.repeat(np.arange(len(train)), train.lengths)
    pairs = np.unique(np.c_[rows, train.items], axis=0) if len(rows) else np.zeros((0, 2), np.int64)
    return np.bincount(pairs[:, 1], minlength=train.n_items).astype(np.float64)


def sequence_events(train: Sequences, by_session: bool = False) -> pd.DataFrame:
    """The sequences as ``user_id, item_id`` rows for a ``base.Recommender``: one "user" per
    sequence, or per session with ``by_session`` (for session co-occurrence)."""
    rows = train.sessions if by_session else np.repeat(np.arange(len(train)), train.lengths)
    return pd.DataFrame(
        {"user_id": rows, "item_id": np.asarray(train.item_ids, dtype=object)[train.items]}
    )


def recency_history(sequences: Sequences, decay: float) -> sp.csr_matrix:
    """CSR ``(n, n_items)``: each sequence's items weighted decay^(steps from the end), so the
    last item weighs 1 and ``decay`` = 0 keeps only it."""
    steps_back = (
        np.repeat(sequences.indptr[1:], sequences.lengths) - 1 - np.arange(len(sequences.items))
    )
    w = np.power(float(decay), steps_back.astype(np.float64))  # 0 ** 0 = 1
    m = sp.csr_matrix(
        (w, sequences.items, sequences.indptr), shape=(len(sequences), sequences.n_items)
    )
    m.sum_duplicates()
    return m


class _BaselineSequences(SequenceRecommender):
    """A sequence model that scores with a fitted ``baselines`` model (``model_``). Saved as a
    folder: ``model.npz`` (that model, ``Persistent.save``), ``state.npz`` (this model's fitted
    arrays) and ``meta.json`` (its settings and what it chose on validation)."""

    def _settings(self) -> dict:
        return {}

    def _fitted(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {}, {}

    def _set_fitted(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        return None

    def save(self, path: str | Path) -> Path:
        fitted, arrays = self._fitted()
        return save_state(
            path,
            self,
            arrays,
            {"fitted": fitted},
            also=lambda tmp: self.model_.save(tmp / "model.npz"),
        )

    @classmethod
    def load(cls, path: str | Path) -> _BaselineSequences:
        from shopintent.models.recommenders.persist import load_recommender

        model, arrays, meta = load_state(path, cls)
        model.model_ = load_recommender(Path(path) / "model.npz")
        model._set_fitted(meta["fitted"], arrays)
        return model


class SequencePopularity(_BaselineSequences):
    """``baselines.Popularity`` on the training sequences (distinct sequences per item): the same
    list for every sequence, the floor to beat."""

    name = "popularity"

    def _fit(self, train, val, **kwargs):
        from shopintent.models.recommenders.baselines import Popularity

        self.model_ = Popularity().fit(
            sequence_events(train), pd.DataFrame({"item_id": train.item_ids})
        )

    def score_sequences(self, sequences):
        self._check_fitted(sequences)
        return self.model_.score_history(sequences.seen())


class SessionItemKNN(_BaselineSequences):
    """``baselines.ItemKNN`` on session co-occurrence, read from the end of the sequence.

    sim(i, j) = sessions with both / (sqrt(sessions with i x sessions with j) + ``shrinkage``)
    (each item's ``neighbours`` best kept); a sequence scores item j as sum over its items i of
    decay^(steps from the end) x sim(i, j), so ``decay`` = 0 uses the last item only and 1 the
    whole sequence, order-free. Items without any co-occurrence fall back to popularity (a
    tie-breaker 1e-6 below any similarity). ``decay=None`` picks the best of ``decays`` on
    validation NDCG@10.
    """

    name = "item_knn"

    def __init__(
        self,
        decay: float | None = None,
        decays=(0.0, 0.25, 0.5, 0.75, 1.0),
        shrinkage: float = 10.0,
        neighbours: int | None = 100,
        name: str | None = None,
    ):
        self.decay, self.decays, self.shrinkage, self.neighbours = (
            decay,
            tuple(decays),
            float(shrinkage),
            neighbours,
        )
        self.name = name or self.name
        self.validation_: dict[float, float] = {}

    def _fit(self, train, val, **kwargs):
        from shopintent.models.recommenders.baselines import ItemKNN

        self.model_ = ItemKNN(self.neighbours, self.shrinkage).fit(
            sequence_events(train, by_session=True), pd.DataFrame({"item_id": train.item_ids})
        )
        pop = training_popularity(train)
        self.tie_break_ = 1e-6 * pop / pop.max() if pop.max() > 0 else pop
        if self.decay is None:
            if val is None or not len(val):
                raise ValueError(
                    "item_knn: decay=None chooses the decay on validation; pass val or a decay"
                )
            for d in self.decays:
                self.decay_ = d
                self.validation_[d] = validation_ndcg(self, val)
            self.decay_ = max(self.validation_, key=lambda d: (self.validation_[d], -d))
        else:
            self.decay_ = float(self.decay)

    def _settings(self) -> dict:
        return {
            "decay": self.decay,
            "decays": list(self.decays),
            "shrinkage": self.shrinkage,
            "neighbours": self.neighbours,
        }

    def _fitted(self) -> tuple[dict, dict[str, np.ndarray]]:
        # validation as pairs: JSON would turn the float keys into strings
        return (
            {"decay": self.decay_, "validation": [[d, v] for d, v in self.validation_.items()]},
            {"tie_break": self.tie_break_},
        )

    def _set_fitted(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.decay_ = meta["decay"]
        self.validation_ = {d: v for d, v in meta["validation"]}
        self.tie_break_ = arrays["tie_break"]

    @property
    def similarity_(self) -> sp.csr_matrix:
        return self.model_.similarity_

    def score_sequences(self, sequences):
        self._check_fitted(sequences)
        return self.model_.score_history(recency_history(sequences, self.decay_)) + self.tie_break_


register("sequence_popularity", SequencePopularity, fits_on="sequences", saves_to="folder")
register("session_item_knn", SessionItemKNN, fits_on="sequences", saves_to="folder")
# by dotted path: ``nets`` imports Keras (about 10 s), which a lookup should not pay for
_NETS = "shopintent.models.recommenders.sequential.nets:NextItemModel"
register("lstm", _NETS, params={"kind": "lstm"}, fits_on="sequences", saves_to="folder")
register(
    "self_attention",
    _NETS,
    params={"kind": "self_attention"},
    fits_on="sequences",
    saves_to="folder",
)
# GRU4Rec (``gru4rec``, Keras too, so by dotted path): the reference's ranges
# (github.com/hidasib/GRU4Rec ``paramspaces/gru4rec_bprmax_standard_parspace.json``: layers
# 64-512, batch 32-256, learning rate 0.01-0.25, dropout 0-0.5 / 0-0.7, alpha 0-1, bpreg 0-2),
# two points each, and its three losses: 384 points in all, to be sampled (the reference's
# ``paropt.py`` searches at random) rather than walked through
register(
    "gru4rec",
    "shopintent.models.recommenders.sequential.gru4rec:GRU4Rec",
    fits_on="sequences",
    saves_to="folder",
    space={
        "smoke": {"layers": [[64]], "n_sample": [256], "epochs": [2]},
        "default": {
            "loss": ["bpr-max", "top1-max", "cross-entropy"],
            "layers": [[100], [512]],
            "batch_size": [32, 128],
            "dropout_p_hidden": [0.0, 0.3],
            "learning_rate": [0.05, 0.1],
            "n_sample": [0, 2048],
            "sample_alpha": [0.3, 0.75],
            "bpreg": [0.9, 2.0],
        },
    },
)


def evaluate_sequences(
    models: dict[str, SequenceRecommender],
    split: SequenceSplit,
    k: int = 20,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[list[dict], dict[str, Recommendations]]:
    """Each model's top-``k`` lists for the test prefixes (own items excluded) scored on the
    split's ``RecTask``: ``evaluate_recs`` rows (headline, slices, bootstrap) and the lists."""
    if not np.array_equal(split.test.inputs.groups, split.task.users):
        raise ValueError(
            "split.test rows must follow split.task.users (build both with sequence_split)"
        )
    rows, recs = [], {}
    for name, model in models.items():
        recs[name] = model.recommend_sequences(split.test.inputs, k, exclude=True)
        rows.append(evaluate_recs(name, recs[name].index, split.task, n_boot=n_boot, seed=seed))
    return rows, recs


def ndcg_by_prefix_length(
    recs: dict[str, Recommendations], split: SequenceSplit, edges=(1, 2, 3, 5, 10, 20, 50)
) -> pd.DataFrame:
    """NDCG@10 of each model by the test prefix's length (items before the target): do the
    models use a longer context? Rows: length bin ("3-4", "50+"), model, NDCG@10, prefixes."""
    from shopintent.evaluation.ranking import ranking_per_user

    lengths = split.test.inputs.lengths
    edges = np.asarray(edges)
    labels = [
        f"{lo}" if hi - lo == 1 else f"{lo}-{hi - 1}"
        for lo, hi in zip(edges[:-1], edges[1:], strict=False)
    ]
    labels.append(f"{edges[-1]}+")
    bin_of = np.searchsorted(edges, lengths, side="right") - 1  # -1: shorter than the first edge
    out = []
    for name, r in recs.items():
        per = ranking_per_user(r.index, split.task.truth, (10,))["ndcg@10"].to_numpy()
        frame = pd.DataFrame({"bin": bin_of, "ndcg@10": per})[(bin_of >= 0) & np.isfinite(per)]
        g = frame.groupby("bin")["ndcg@10"].agg(["mean", "size"]).reset_index()
        out.append(
            pd.DataFrame(
                {
                    "prefix_length": [labels[b] for b in g["bin"]],
                    "bin": g["bin"],
                    "model": name,
                    "ndcg@10": g["mean"],
                    "prefixes": g["size"],
                }
            )
        )
    table = pd.concat(out, ignore_index=True).sort_values(["bin", "model"], kind="stable")
    return table.drop(columns="bin").reset_index(drop=True)
