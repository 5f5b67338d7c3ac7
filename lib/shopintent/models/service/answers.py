"""Answer retrieval: for a shopper's message, find the agent response written for it among all
the responses a team has (a full ranking, no candidate sampling).

Scorers give a (messages x responses) similarity matrix: ``tfidf_scores`` (cosine of TF-IDF
word and character n-grams fitted on the responses, which are known before any message
arrives) and ``encoder_scores`` (cosine of sentence vectors: the frozen MiniLM, or the dual
encoder of ``text.dual_encoder`` fine-tuned on training (message, response) pairs).
``answer_ranks`` turns a matrix into the rank of each message's own response;
``retrieval_scores`` reports Recall@1/5 and MRR with bootstrap intervals, and how often the top
response at least belongs to the message's intent (the right kind of answer, if not the one
written for it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED


def tfidf_scores(messages, responses) -> np.ndarray:
    """(len(messages), len(responses)) cosine similarities of TF-IDF vectors (words 1-2 grams
    plus characters 2-5 grams within words, sublinear tf) fitted on ``responses``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    vec = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    )
    r = vec.fit_transform([str(t) for t in responses])
    m = vec.transform([str(t) for t in messages])
    norm = lambda x: x.multiply(1 / np.sqrt(np.asarray(x.multiply(x).sum(axis=1)) + 1e-12))  # noqa: E731
    return np.asarray((norm(m) @ norm(r).T).todense(), dtype=np.float32)


def encoder_scores(message_vectors: np.ndarray, response_vectors: np.ndarray) -> np.ndarray:
    """Cosine similarities of two sets of sentence vectors."""
    a = message_vectors / (np.linalg.norm(message_vectors, axis=1, keepdims=True) + 1e-12)
    b = response_vectors / (np.linalg.norm(response_vectors, axis=1, keepdims=True) + 1e-12)
    return (a @ b.T).astype(np.float32)


def answer_ranks(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """1-based rank of each row's true column (``truth[i]``) among all columns, ties counted
    pessimistically (a tie with the truth ranks the truth below it)."""
    truth = np.asarray(truth, dtype=np.int64)
    if scores.shape[0] != len(truth):
        raise ValueError(f"answer_ranks: {scores.shape[0]} score rows for {len(truth)} truths")
    own = scores[np.arange(len(truth)), truth]
    return (scores >= own[:, None]).sum(axis=1)


def retrieval_scores(
    ranks: dict[str, np.ndarray],
    top_intent_hit: dict[str, np.ndarray] | None = None,
    n_boot: int = 1000,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """One row per model: ``recall@1``, ``recall@5`` (share of messages whose own response is
    in the top k) and ``mrr`` (mean 1/rank over the full ranking), each with its 95% bootstrap
    interval over messages; ``intent_hit@1`` where ``top_intent_hit`` gives, per message,
    whether the top response was written for the same intent."""
    from shopintent.evaluation.bootstrap import bootstrap_mean_ci

    rows = []
    for name, rank in ranks.items():
        rank = np.asarray(rank, dtype=np.float64)
        row = {"model": name}
        for key, values in (
            ("recall@1", rank <= 1),
            ("recall@5", rank <= 5),
            ("mrr", 1 / rank),
            *(
                (("intent_hit@1", top_intent_hit[name]),)
                if top_intent_hit and name in top_intent_hit
                else ()
            ),
        ):
            ci = bootstrap_mean_ci(np.asarray(values, dtype=float), n_boot=n_boot, seed=seed)
            row.update({key: ci.point, f"{key}_low": ci.low, f"{key}_high": ci.high})
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


__all__ = ["answer_ranks", "encoder_scores", "retrieval_scores", "tfidf_scores"]
