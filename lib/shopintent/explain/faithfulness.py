"""Are the explanations faithful to the model? Remove (mask to the reference or background) the
k features an explanation ranks highest and see how much the prediction moves, against removing
k features drawn at random (a deletion test, as in Samek et al. 2017 and Hooker et al. 2019's
critique, here without retraining). A faithful explanation moves it more.

Everything works through a value function per example, ``f(keep (m, d) bool) -> (m,)`` outputs
with the features where ``keep`` is False removed: ``tabular_value_fn`` averages over a
background sample (SHAP's interventional masking), ``text_value_fn`` deletes tokens with shap's
Text masker, and the sequence groups' ``shopintent.explain.groups.sequence_value_fn`` replaces
groups by their reference. ``drop`` is |f(everything) − f(with the k features removed)|.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _masks(a: np.ndarray, ks, n_random: int, rng: np.random.Generator) -> np.ndarray:
    """[keep all; for each k: without the top k, then ``n_random`` times without k random]."""
    d = len(a)
    keep = np.ones((1 + len(ks) * (1 + n_random), d), dtype=bool)
    order = np.argsort(-np.abs(a), kind="stable")
    row = 1
    for k in ks:
        keep[row, order[:k]] = False
        for r in range(n_random):
            keep[row + 1 + r, rng.choice(d, k, replace=False)] = False
        row += 1 + n_random
    return keep


def deletion_drops(
    value_fn, attributions, k: int, n_random: int = 20, rng: np.random.Generator | None = None
) -> tuple[float, float]:
    """(top-k drop, mean random-k drop) of one example: |f(all) − f(without the k features of
    largest |attribution|)| and the same averaged over ``n_random`` random sets of k features."""
    a = np.asarray(attributions, dtype=np.float64)
    if not 0 < k < len(a):
        raise ValueError(f"k={k}: needs 0 < k < number of features ({len(a)})")
    keep = _masks(a, (k,), n_random, rng or np.random.default_rng(0))
    out = np.asarray(value_fn(keep), dtype=np.float64).reshape(len(keep))
    drops = np.abs(out[0] - out[1:])
    return float(drops[0]), float(drops[1:].mean())


def deletion_table(
    value_fns, attributions, ks=(1, 3), n_random: int = 20, seed: int = 0, names=None
) -> pd.DataFrame:
    """One row per (example, k): ``example, n_features, k, topk_drop, random_drop``; an example
    with no more than k features is left out at that k. One call of each value function for
    all k. Seeded: the same seed draws the same random sets."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, (fn, a) in enumerate(zip(value_fns, attributions, strict=True)):
        a = np.ravel(np.asarray(a, dtype=np.float64))
        valid = [k for k in ks if 0 < k < len(a)]
        if not valid:
            continue
        keep = _masks(a, valid, n_random, rng)
        out = np.asarray(fn(keep), dtype=np.float64).reshape(len(keep))
        for j, k in enumerate(valid):
            start = 1 + j * (1 + n_random)
            drops = np.abs(out[0] - out[start : start + 1 + n_random])
            rows.append(
                {
                    "example": names[i] if names is not None else i,
                    "n_features": len(a),
                    "k": k,
                    "topk_drop": float(drops[0]),
                    "random_drop": float(drops[1:].mean()),
                }
            )
    return pd.DataFrame(rows, columns=["example", "n_features", "k", "topk_drop", "random_drop"])


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per k: mean top-k and random drops over examples, their ratio, the share of examples
    where the top-k drop is larger, and the number of examples."""
    g = table.groupby("k")
    out = g[["topk_drop", "random_drop"]].mean()
    out["ratio"] = out["topk_drop"] / out["random_drop"].where(out["random_drop"] > 0)
    out["share_topk_larger"] = g.apply(
        lambda t: float((t["topk_drop"] > t["random_drop"]).mean()), include_groups=False
    )
    out["examples"] = g.size()
    return out


def tabular_value_fn(predict, row, background):
    """``f(keep)`` for one row of a tabular model: features not kept take each background row's
    value, and the output is averaged over the background. ``predict(X (n, d)) -> (n,)``."""
    row = np.asarray(row, dtype=np.float64).reshape(1, -1)
    bg = np.asarray(background, dtype=np.float64)

    def f(keep):
        keep = np.asarray(keep, dtype=bool)
        m, b = len(keep), len(bg)
        x = np.where(np.repeat(keep, b, axis=0), np.repeat(row, m * b, axis=0), np.tile(bg, (m, 1)))
        return np.asarray(predict(x), dtype=np.float64).reshape(m, b).mean(axis=1)

    return f


def text_value_fn(predict, masker, text: str, output: int):
    """``f(keep)`` for one text: the tokens not kept are deleted by shap's Text ``masker``
    (the same masker the explanation used), ``predict(list of str) -> (n, classes)``, and the
    output is column ``output``."""

    def f(keep):
        texts = [str(masker(np.asarray(k, dtype=bool), text)[0][0]) for k in keep]
        return np.asarray(predict(texts), dtype=np.float64)[:, output]

    return f
