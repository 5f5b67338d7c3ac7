"""The sponsored-product auction: rank ads by bid x predicted CTR, fill the slots, price each
click by the generalized second price (GSP), and score the outcome in simulation against the
true click model.

All arrays are (requests, candidates). GSP: the ad in slot s pays per click the least bid that
would have kept its slot, ``bid[s+1] * ctr[s+1] / ctr[s]`` (the next ad's score over its own
predicted CTR), never more than its own bid; the last slot pays the first loser's score over
its CTR (0 without a loser). Under the true CTRs, ranking by bid x CTR maximises the expected
value of the clicks to advertisers (sum of bid x P(click)); revenue and clicks are measured, not
assumed, and per request so they get bootstrap intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED


def gsp(bids: np.ndarray, ctr: np.ndarray, slots: int) -> tuple[np.ndarray, np.ndarray]:
    """(winners, prices): the candidate index in each slot (requests x slots, by bid x ctr,
    ties to the lower index) and its price per click."""
    bids, ctr = np.atleast_2d(bids).astype(float), np.atleast_2d(ctr).astype(float)
    score = bids * ctr
    order = np.argsort(-score, axis=1, kind="stable")
    rows = np.arange(len(bids))[:, None]
    ranked_score, ranked_ctr, ranked_bid = score[rows, order], ctr[rows, order], bids[rows, order]
    k = bids.shape[1]
    slots = min(slots, k)
    nxt = np.concatenate([ranked_score[:, 1:], np.zeros((len(bids), 1))], axis=1)[:, :slots]
    price = np.minimum(ranked_bid[:, :slots], nxt / np.maximum(ranked_ctr[:, :slots], 1e-12))
    return order[:, :slots], price


def simulate_auction(
    bids: np.ndarray,
    predicted: np.ndarray,
    relevance: np.ndarray,
    examine: np.ndarray,
    seed: int = DEFAULT_SEED,
) -> dict[str, np.ndarray]:
    """Per request: ``revenue`` (expected: GSP price x true P(click) summed over slots),
    ``clicks`` (expected), ``simulated_clicks`` (one seeded draw), ``welfare`` (bid x P(click))
    and ``relevance`` (mean true P(click | examined) of the ads shown). ``predicted`` is what
    the auction ranks and prices by; ``relevance`` the truth; ``examine`` P(look) per slot."""
    examine = np.asarray(examine, dtype=float)
    winners, price = gsp(bids, predicted, len(examine))
    rows = np.arange(len(bids))[:, None]
    rel = np.asarray(relevance, dtype=float)[rows, winners]
    p_click = rel * examine[None, : winners.shape[1]]
    clicks = np.random.default_rng(seed).random(p_click.shape) < p_click
    return {
        "revenue": (price * p_click).sum(axis=1),
        "clicks": p_click.sum(axis=1),
        "simulated_clicks": clicks.sum(axis=1).astype(float),
        "welfare": (np.asarray(bids, dtype=float)[rows, winners] * p_click).sum(axis=1),
        "relevance": rel.mean(axis=1),
    }


def auction_table(
    outcomes: dict[str, dict[str, np.ndarray]],
    oracle: str = "oracle",
    n_boot: int = 1000,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """One row per ranking: mean revenue, clicks, welfare and relevance per request with 95%
    bootstrap intervals, and each as a share of the ``oracle`` row's (a ratio of means; its
    interval from the same request resamples, paired)."""
    from shopintent.evaluation.bootstrap import bootstrap_mean_ci, resample_indices

    base = outcomes.get(oracle)
    rows = []
    for name, out in outcomes.items():
        row = {"ranking": name}
        for key in ("revenue", "clicks", "simulated_clicks", "welfare", "relevance"):
            ci = bootstrap_mean_ci(out[key], n_boot=n_boot, seed=seed)
            row.update({key: ci.point, f"{key}_low": ci.low, f"{key}_high": ci.high})
        if base is not None:
            for key in ("revenue", "clicks"):
                a, b = np.asarray(out[key]), np.asarray(base[key])
                stats = np.concatenate(
                    [
                        a[idx].sum(axis=1) / b[idx].sum(axis=1)
                        for _, idx in resample_indices(np.random.default_rng(seed), len(a), n_boot)
                    ]
                )
                low, high = np.quantile(stats, [0.025, 0.975])
                row.update(
                    {
                        f"{key}_share": a.sum() / b.sum(),
                        f"{key}_share_low": low,
                        f"{key}_share_high": high,
                    }
                )
        rows.append(row)
    return pd.DataFrame(rows).set_index("ranking")


__all__ = ["auction_table", "gsp", "simulate_auction"]
