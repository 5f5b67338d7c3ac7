"""Linear probe: how much of an item's top-level category a vector space holds linearly.

A multinomial logistic regression (scikit-learn) is trained on a stratified, seeded part of
the items and scored by accuracy on the rest, next to the majority-class accuracy. Any
``(n_items, dim)`` matrix works, dense (encoder vectors) or sparse (TF-IDF rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED


@dataclass(frozen=True)
class ProbeResult:
    accuracy: float
    majority_accuracy: float  # always predicting the most frequent training class
    n_train: int
    n_test: int
    n_classes: int


def top_level_category(categories) -> np.ndarray:
    """``electronics.smartphone`` -> ``electronics``; missing stays missing (None)."""
    s = pd.Series(categories, dtype=object)
    return s.where(s.isna(), s.astype(str).str.split(".").str[0]).to_numpy(dtype=object)


def linear_probe(
    vectors,
    labels,
    test_size: float = 0.3,
    seed: int = DEFAULT_SEED,
    c: float = 1.0,
    max_iter: int = 2_000,
) -> ProbeResult:
    """Held-out accuracy of logistic regression from ``vectors`` to ``labels``.

    Rows with a missing label, and classes with fewer than 2 rows (they cannot be split
    stratified), are left out; ``n_train + n_test`` says how many rows remained.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    y = pd.Series(labels, dtype=object)
    counts = y.value_counts()
    keep = (y.notna() & y.map(counts).ge(2)).to_numpy()
    if len(set(y[keep])) < 2:
        raise ValueError("linear_probe needs at least 2 classes with 2 or more labelled rows each")
    x = vectors[np.flatnonzero(keep)]
    y = y[keep].astype(str).to_numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y
    )
    model = LogisticRegression(C=c, max_iter=max_iter).fit(x_tr, y_tr)
    majority = pd.Series(y_tr).value_counts().index[0]
    return ProbeResult(
        float((model.predict(x_te) == y_te).mean()),
        float((y_te == majority).mean()),
        len(y_tr),
        len(y_te),
        len(set(y)),
    )
