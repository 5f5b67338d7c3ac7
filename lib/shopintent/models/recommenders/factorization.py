"""Matrix factorisation on implicit feedback with the ``implicit`` library (0.7, CPU).

- ``ALS``: weighted alternating least squares (Hu, Koren & Volinsky 2008): confidence
  1 + alpha * r for each observed pair, 0 preference elsewhere; conjugate-gradient solver.
- ``BPR``: Bayesian personalised ranking (Rendle et al. 2009): SGD on sampled (user, seen item,
  unseen item) triples; implicit adds an item bias as one more factor.

Both score a user as user_factors @ item_factors.T over the whole catalogue. implicit 0.7 takes
the *user x item* CSR (0.4 took item x user). Threads: ALS solves each user (item) on its own,
so its result does not depend on the thread count and it uses ``threads`` (default: up to 2,
the size of this project's machines); BPR's lock-free SGD is only reproducible on one thread,
its default. BLAS is held to one thread while fitting, as implicit recommends, so the two
thread pools do not fight. Factors save to ``.npz`` with the interactions (``save``).
Registered with their grids (``registry``): ALS wanted few factors, alpha 5 and strong
regularisation, BPR a log-popularity weight near 2 (see ``BPR``), on the synthetic shop.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from shopintent.models.recommenders.base import Interactions, Recommender
from shopintent.models.recommenders.baselines import weigh
from shopintent.models.recommenders.persist import Persistent
from shopintent.models.recommenders.registry import register


def default_threads() -> int:
    return max(1, min(2, os.cpu_count() or 1))


class _Factorised(Persistent, Recommender):
    """user_factors_ (n_users, d) and item_factors_ (n_items, d); score = U V'."""

    weighting = "binary"

    def _train_matrix(self, data: Interactions):
        return weigh(data.matrix, self.weighting).astype(np.float32).tocsr()

    def _fit(self, data: Interactions, items: pd.DataFrame) -> None:
        with (
            warnings.catch_warnings()
        ):  # implicit imports tqdm.auto, which warns in a notebook without ipywidgets
            warnings.filterwarnings("ignore", message="IProgress not found")
            import implicit.cpu.als  # noqa: F401 - loaded first, so that the BLAS limit below reaches it
            import implicit.cpu.bpr  # noqa: F401
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            model = self._model()
            model.fit(self._train_matrix(data), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)

    def _model(self):
        raise NotImplementedError

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors_[rows] @ self.item_factors_.T

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_state(self, arrays) -> None:
        self.user_factors_ = arrays["user_factors"]
        self.item_factors_ = arrays["item_factors"]


class ALS(_Factorised):
    """implicit's ``AlternatingLeastSquares``; ``weighting`` turns event weights into r (see
    ``baselines.weigh``), ``alpha`` scales them into confidence."""

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        weighting: str = "log",
        seed: int = 42,
        threads: int | None = None,
    ) -> None:
        self.factors = int(factors)
        self.regularization = float(regularization)
        self.alpha = float(alpha)
        self.iterations = int(iterations)
        self.weighting = weighting
        self.seed = int(seed)
        self.threads = threads

    def _model(self):
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.seed,
            num_threads=self.threads or default_threads(),
        )


class BPR(_Factorised):
    """implicit's ``BayesianPersonalizedRanking`` on the binary matrix (BPR samples pairs; it
    ignores how strong a positive is), plus ``pop_weight`` x log(1 + item popularity).

    Why the popularity term: implicit draws the negative item of each triple from the
    interactions (so in proportion to popularity), not uniformly over the catalogue as Rendle et
    al. and cornac (Microsoft Recommenders' BPR) do. Popular items are then pushed down as
    negatives and the factors learn preference *relative to popularity*; adding back
    ``pop_weight`` x log popularity (a log-Q correction, chosen on validation; 0 = plain
    implicit) restores what uniform sampling would have kept. It is applied when scoring only,
    so ``tune`` tries its values without refitting.
    """

    name = "bpr"
    score_params = ("pop_weight",)

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        pop_weight: float = 0.0,
        seed: int = 42,
        threads: int | None = 1,
    ) -> None:
        self.factors = int(factors)
        self.learning_rate = float(learning_rate)
        self.regularization = float(regularization)
        self.iterations = int(iterations)
        self.pop_weight = float(pop_weight)
        self.seed = int(seed)
        self.threads = threads

    def _score(self, rows: np.ndarray) -> np.ndarray:
        scores = super()._score(rows)
        if self.pop_weight:
            scores += np.float32(self.pop_weight) * np.log1p(self._cold_scores()).astype(np.float32)
        return scores

    def _model(self):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.seed,
            num_threads=self.threads or default_threads(),
        )


register(
    "als",
    ALS,
    space={
        "smoke": {"factors": [16], "regularization": [10.0], "alpha": [5.0], "iterations": [10]},
        "default": {
            "factors": [16, 32],
            "regularization": [10.0, 100.0],
            "alpha": [5.0],
            "iterations": [15],
        },
    },
)
register(
    "bpr",
    BPR,
    space={
        "smoke": {"factors": [32], "iterations": [50], "pop_weight": [0.0, 2.0]},
        "default": {
            "factors": [64, 128],
            "learning_rate": [0.05],
            "regularization": [0.01],
            "iterations": [100],
            "pop_weight": [0.0, 1.0, 2.0, 3.0],
        },
    },
)
