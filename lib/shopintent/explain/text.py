"""Token attributions of text classifiers with shap's Text masker.

``shap.maskers.Text`` splits a text into tokens (here words, by a regular expression, so any
model that takes strings can be explained: TF-IDF pipelines as well as keras-hub classifiers)
and deletes masked ones (``masker``); ``shap.Explainer(f, masker)`` then picks the Partition
explainer, which clusters neighbouring tokens and computes Owen values: they add up to
``f(text) − f(every token deleted)`` per class. ``f`` returns log-odds of each class
(``log_odds``), so a token's value reads "how much this word raised the odds of that class".
``html`` renders ``shap.plots.text`` for display inline in a notebook and its HTML report.
A text of a single token has nothing to share out (the masker cannot cluster it): it is skipped.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: word tokens: the same split for masking, counting and display
TOKEN_PATTERN = r"\W+"
_NUMPY_SCALAR = re.compile(r"np\.(?:float|int)\d*\(([^()]*)\)")


def log_odds(predict_proba):
    """``texts -> (n, classes)`` log-odds from a ``texts -> probabilities`` function."""

    def f(texts):
        p = np.clip(
            np.asarray(predict_proba([str(t) for t in texts]), dtype=np.float64), 1e-7, 1 - 1e-7
        )
        return np.log(p / (1 - p))

    return f


def n_tokens(text: str) -> int:
    return len([t for t in re.split(TOKEN_PATTERN, str(text)) if t])


def explainable(texts, min_tokens: int = 2) -> list[str]:
    """The texts with at least ``min_tokens`` word tokens (Partition needs two to cluster)."""
    return [str(t) for t in texts if n_tokens(t) >= min_tokens]


def masker():
    """Words by ``TOKEN_PATTERN``; a masked word is deleted (replaced by a space, not shap's
    default "..." that character n-gram models would read as text)."""
    import shap

    return shap.maskers.Text(TOKEN_PATTERN, mask_token=" ")


def explain_texts(
    predict_proba, texts, class_names, max_evals: int = 200, batch_size: int = 256, text_masker=None
):
    """A ``shap.Explanation`` (texts × tokens × classes, log-odds) of ``texts`` (at least two
    tokens each: see ``explainable``). ``max_evals`` bounds model calls per text."""
    import shap

    texts = list(texts)
    short = [t for t in texts if n_tokens(t) < 2]
    if short:
        raise ValueError(
            f"{len(short)} texts have fewer than two word tokens (e.g. {short[0]!r}): "
            "filter them with explainable()"
        )
    explainer = shap.Explainer(
        log_odds(predict_proba), text_masker or masker(), output_names=list(class_names)
    )
    return explainer(texts, max_evals=max_evals, batch_size=batch_size, silent=True)


def predicted(explanation) -> np.ndarray:
    """The predicted class (largest output) of each explained text."""
    return np.array(
        [
            int(np.argmax(np.asarray(e.base_values) + np.asarray(e.values).sum(axis=0)))
            for e in explanation
        ]
    )


def html(explanation, classes: np.ndarray | None = None) -> str:
    """``shap.plots.text`` of each text for its predicted class (or ``classes``).

    All the texts come back as one HTML string.
    """
    import shap

    classes = predicted(explanation) if classes is None else classes
    out = "".join(
        shap.plots.text(explanation[i, :, int(c)], display=False) for i, c in enumerate(classes)
    )
    # shap 0.51 writes colours with numpy 2's scalar repr, rgb(np.float64(255.0), ...), which no
    # browser reads (every bar and word turns black): keep the numbers only
    return _NUMPY_SCALAR.sub(r"\1", out)


def token_table(explanation, class_names, top: int = 3) -> pd.DataFrame:
    """One row per text: its predicted class, the log-odds of it, and the ``top`` tokens that
    raised and lowered it most."""
    rows = []
    for i, c in enumerate(predicted(explanation)):
        e = explanation[i, :, int(c)]
        tokens = [str(t).strip() for t in e.data]
        v = np.asarray(e.values, dtype=np.float64)
        order = np.argsort(-v, kind="stable")
        up = [f"{tokens[j]} (+{v[j]:.2f})" for j in order[:top] if v[j] > 0]
        down = [f"{tokens[j]} ({v[j]:.2f})" for j in order[::-1][:top] if v[j] < 0]
        rows.append(
            {
                "text": "".join(map(str, e.data)),
                "predicted": class_names[int(c)],
                "log_odds": float(e.base_values + v.sum()),
                "raised_by": ", ".join(up),
                "lowered_by": ", ".join(down),
            }
        )
    return pd.DataFrame(rows)


def class_token_importance(explanation, class_names, min_count: int = 2) -> pd.DataFrame:
    """Mean SHAP value of each (lower-cased) token for each class over the explained texts: the
    words that push towards a class (a global view built from local explanations)."""
    rows = []
    for e in explanation:
        for tok, vals in zip(e.data, np.asarray(e.values), strict=True):
            rows.append(
                {"token": str(tok).strip().lower(), **dict(zip(class_names, vals, strict=True))}
            )
    frame = pd.DataFrame(rows)
    frame = frame[frame["token"] != ""]
    counts = frame.groupby("token").size()
    means = frame.groupby("token")[list(class_names)].mean()
    return means[counts.reindex(means.index) >= min_count].assign(count=counts)


def faithfulness_table(
    predict_proba, texts, explanation, ks=(1, 2, 3), n_random: int = 20, seed: int = 42
) -> pd.DataFrame:
    """Deletion check of token attributions for each text's predicted class: deleting its top-k
    words (by |value|) vs k random words, change of that class's log-odds."""
    from shopintent.explain import faithfulness

    f, m = log_odds(predict_proba), masker()
    classes = predicted(explanation)
    fns = [faithfulness.text_value_fn(f, m, t, int(c)) for t, c in zip(texts, classes, strict=True)]
    values = [np.asarray(explanation[i, :, int(c)].values) for i, c in enumerate(classes)]
    return faithfulness.deletion_table(fns, values, ks, n_random, seed, names=list(texts))
