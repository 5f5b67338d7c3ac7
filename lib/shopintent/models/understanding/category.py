"""Query category from both text representations and the catalogue's hierarchy.

A leaf category (``electronics.smartphone``) is mostly read off an invented model name, which
TF-IDF's character n-grams memorise and a pretrained encoder's vectors do not carry, while the
encoder reads generic words ("cordless", "for running") that TF-IDF only knows if a training
query used them. Two ways to use both, and the category path:

- ``JointLogisticRegression``: one multinomial logistic regression on the TF-IDF features and
  the sentence vectors side by side (``[tfidf, scale * vectors]``), ``C`` and ``scale`` chosen
  on validation top-1 accuracy (feature-level fusion, where notebook 03's probability fusion
  found no weight that helps);
- ``HierarchicalLogisticRegression``: the path as label structure,
  ``P(leaf) = P(parent) * P(leaf | parent)``: one regression for the parent (top level), one per
  parent for its leaves, each on the same features.

Both take feature matrices (rows aligned with labels), so any representation can be tried.

``catalogue_queries`` adds what no split of queries holds: the catalogue's own names, each
labelled with its item's category, as extra training queries (weak labels the shop writes
itself, the way a search team seeds a query classifier from its product feed). A test query
naming a model that no training query named is then no longer unknown to any model.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from shopintent.config import DEFAULT_SEED

C_GRID = (3.0, 10.0, 30.0)
SCALE_GRID = (0.5, 1.0, 2.0)


def parent_of(leaf: str) -> str:
    """The top level of a dot path: ``electronics.smartphone`` -> ``electronics``."""
    return str(leaf).split(".")[0]


def _logistic(x, y, c: float, seed: int):
    from sklearn.linear_model import LogisticRegression

    # one BLAS thread: on 2 shared cores two threads spin-wait (see text.classifiers)
    with threadpool_limits(1):
        return LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x, y)


def _top1(classes: np.ndarray, proba: np.ndarray, y) -> float:
    return float((classes[proba.argmax(axis=1)] == np.asarray(y).astype(str)).mean())


def joint_features(sparse, dense, scale: float):
    """``[sparse, scale * dense]`` as one CSR matrix (rows: texts)."""
    return sp.hstack([sp.csr_matrix(sparse), sp.csr_matrix(np.asarray(dense) * scale)]).tocsr()


class JointLogisticRegression:
    """Logistic regression on ``[tfidf, scale * vectors]``; ``fit`` chooses ``C`` and ``scale``
    on the validation rows' top-1 accuracy (the first best in grid order: a tie keeps the
    smaller scale and C). ``validation``: top-1 per (scale, C)."""

    def __init__(self, c_grid=C_GRID, scale_grid=SCALE_GRID, seed: int = DEFAULT_SEED):
        self.c_grid, self.scale_grid, self.seed = tuple(c_grid), tuple(scale_grid), seed
        self.validation: dict[tuple[float, float], float] = {}

    def fit(self, sparse, dense, y, val_sparse, val_dense, val_y) -> JointLogisticRegression:
        y = np.asarray(y).astype(str)
        best = None
        for scale in self.scale_grid:
            x, xv = (
                joint_features(sparse, dense, scale),
                joint_features(val_sparse, val_dense, scale),
            )
            for c in self.c_grid:
                model = _logistic(x, y, c, self.seed)
                score = _top1(model.classes_.astype(str), model.predict_proba(xv), val_y)
                self.validation[(scale, c)] = score
                if best is None or score > best[0]:
                    best = (score, scale, c, model)
        _, self.scale_, self.c_, self.model_ = best
        self.classes_ = self.model_.classes_.astype(str)
        return self

    def predict_proba(self, sparse, dense) -> np.ndarray:
        return self.model_.predict_proba(joint_features(sparse, dense, self.scale_))


class HierarchicalLogisticRegression:
    """``P(leaf) = P(parent) * P(leaf | parent)`` from a parent regression and one regression per
    parent over its leaves (a parent with one leaf passes its probability on); every regression
    uses ``c``. Leaves are the training labels, ``parent(leaf)`` their parent."""

    def __init__(self, c: float = 10.0, parent=parent_of, seed: int = DEFAULT_SEED):
        self.c, self.parent, self.seed = c, parent, seed

    def fit(self, x, y) -> HierarchicalLogisticRegression:
        y = np.asarray(y).astype(str)
        parents = np.array([self.parent(v) for v in y])
        self.classes_ = np.unique(y)
        self.top_ = _logistic(x, parents, self.c, self.seed)
        self.leaves_ = {}
        for p in self.top_.classes_:
            rows = parents == p
            leaves = np.unique(y[rows])
            model = _logistic(x[rows], y[rows], self.c, self.seed) if len(leaves) > 1 else None
            self.leaves_[p] = (np.searchsorted(self.classes_, leaves), model)
        return self

    def predict_proba(self, x) -> np.ndarray:
        p_top = self.top_.predict_proba(x)
        out = np.zeros((x.shape[0], len(self.classes_)))
        for j, p in enumerate(self.top_.classes_):
            cols, model = self.leaves_[p]
            within = np.ones((x.shape[0], 1)) if model is None else model.predict_proba(x)
            out[:, cols] = p_top[:, [j]] * within
        return out


def catalogue_queries(items: pd.DataFrame) -> pd.DataFrame:
    """Training queries written by the catalogue: ``text``, ``category``, ``entities`` (spans as
    in the query table, ``None`` where unknown), one row per distinct (text, category).

    Where items carry ``model`` (and ``brand``): "<brand> <model>" and "<model>" alone, with
    their brand and model spans, the way shoppers name a product. Otherwise the head of each
    title (before its first comma) with the words of its category's leaf taken out: a title
    that says "microwave" teaches the word, not the name beside it. Items without a category
    or text are skipped; an empty frame when the catalogue has no categories."""
    columns = ["text", "category", "entities"]
    if "category" not in items.columns:
        return pd.DataFrame(columns=columns)
    items = items[items["category"].notna()]
    rows: list[tuple[str, str, object]] = []
    if "model" in items.columns and items["model"].notna().any():
        brands = items["brand"] if "brand" in items.columns else pd.Series(None, index=items.index)
        for brand, model, category in zip(brands, items["model"], items["category"], strict=True):
            if pd.isna(model):
                continue
            if isinstance(model, float) and model.is_integer():  # a numeric column with gaps
                model = int(model)
            model = str(model).strip()
            if not model:
                continue
            rows.append((model, category, [_span(0, model, "model")]))
            if isinstance(brand, str) and brand.strip():
                b = brand.strip()
                text = f"{b} {model}"
                rows.append(
                    (text, category, [_span(0, b, "brand"), _span(len(b) + 1, model, "model")])
                )
    elif "title" in items.columns:
        for title, category in zip(items["title"], items["category"], strict=True):
            if not isinstance(title, str):
                continue
            leaf = str(category).split(".")[-1].replace("_", " ")
            head = re.sub(rf"\b{re.escape(leaf)}\b", " ", title.split(",")[0], flags=re.I)
            head = " ".join(head.split())
            if head:
                rows.append((head, category, None))
    out = pd.DataFrame(rows, columns=columns)
    keep = ~out[["text", "category"]].astype(str).duplicated()
    return out[keep].reset_index(drop=True)


def _span(start: int, text: str, label: str) -> dict:
    return {"start": start, "end": start + len(text), "label": label}


__all__ = [
    "HierarchicalLogisticRegression",
    "catalogue_queries",
    "JointLogisticRegression",
    "joint_features",
    "parent_of",
]
