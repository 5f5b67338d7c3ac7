"""Notebook 16's steps: sponsored products on the synthetic shop (``data.synthetic.ads``), CTR
models side by side against the true click probability, position bias, the auction they feed,
and the same models on a real ad-click sample.

Synthetic: requests are split by time (the first 70% of requests train, the next 10% validate,
the last 20% test); the models score the logged test impressions at their logged positions
(AUC, log loss, calibration against the clicks; the oracle is the true click probability),
then rank every test request's candidates for the auction with ``position`` set to 1 (a
training-only feature: it absorbs the position bias in training, and one fixed value at
serving leaves only the ad's own appeal). A variant without the position field shows what
ignoring the bias costs. Real sample: a seeded random split of the rows (one hour of Avazu has
no time to split on), no oracle. Metric keys ``ads/synthetic/<model>/...``,
``ads/auction/<ranking>/...``, ``ads/position/<variant>/...``, ``ads/avazu/<model>/...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from shopintent.config import DEFAULT_SEED
from shopintent.data.synthetic import ads as simulated
from shopintent.models.ads import auction, ctr
from shopintent.studies.settings import StudySettings

SYNTHETIC_FIELDS = ctr.Fields(
    categorical=(
        "user_id",
        "item_id",
        "brand",
        "ad_category",
        "ad_top",
        "context_category",
        "context_top",
        "page_type",
        "position",
        "price_bucket",
        "user_price_bucket",
    ),
    numeric=("log_price", "log_user_price"),
    crosses=(
        ("user_id", "ad_top"),
        ("user_id", "brand"),
        ("user_price_bucket", "price_bucket"),
        ("ad_category", "context_category"),
        ("ad_top", "context_top"),
        ("page_type", "ad_category"),
        ("page_type", "position"),
    ),
    serve_as={"position": "1"},
)
AVAZU_CROSSES = (
    ("banner_pos", "site_category"),
    ("app_category", "device_type"),
    ("site_id", "C14"),
    ("device_model", "C17"),
)


@dataclass(frozen=True)
class Settings(StudySettings):
    """``n_requests``: pages drawn from the shop's sessions (x 4 shown ads each);
    ``deep``: the networks' epochs; ``avazu_rows``: rows of the real sample used (None: all)."""

    n_requests: int
    epochs: int
    avazu_rows: int | None
    c_grid: tuple
    trees: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {  # CI's budget (45 s): every step runs, on too little data to learn much
            "n_requests": 1_000,
            "epochs": 1,
            "avazu_rows": 1_500,
            "c_grid": (0.3,),
            "trees": 50,
        },
        "default": {
            "n_requests": 30_000,
            "epochs": 4,
            "avazu_rows": None,
            "c_grid": (0.1, 0.3),
            "trees": 600,
        },
        "full": {
            "n_requests": 400_000,
            "epochs": 8,
            "avazu_rows": None,
            "c_grid": ctr.C_GRID,
            "trees": 2000,
        },
    }

    def deep(self) -> ctr.DeepConfig:
        return ctr.DeepConfig(epochs=self.epochs)

    def fit_options(self) -> dict:
        """``fit_ctr_models``' options of this profile."""
        return {"deep": self.deep(), "c_grid": self.c_grid, "trees": self.trees}


def has_latent_world(shop) -> bool:
    """Whether ``shop`` is a synthetic shop whose latents can be rebuilt (truth tables, seed)."""
    needed = ("user_truth", "session_truth", "item_truth")
    return (
        shop is not None
        and all(t in shop.extras for t in needed)
        and shop.meta.get("seed") is not None
        and shop.meta.get("profile") is not None
    )


def ad_tables(shop, shop_dir: Path, n_requests: int, seed: int | None = None) -> dict:
    """The shop's ad tables from ``<shop_dir>/ads/`` when drawn before for this shop (its
    profile and seed) with the same requests and seed, else drawn now (``data.synthetic.ads``)
    and written there with a ``draw.json`` saying how."""
    from shopintent.io import read_json, write_json

    folder = simulated.ads_dir(shop_dir)
    draw = {
        "shop_profile": shop.meta.get("profile"),
        "shop_seed": shop.meta.get("seed"),
        "n_requests": int(n_requests),
        "seed": seed,
    }
    saved = simulated.read_ads(folder)
    if saved is not None and (folder / "draw.json").is_file():
        if read_json(folder / "draw.json") == draw:
            return saved
    tables = simulated.simulate_ads(shop, n_requests, seed)
    simulated.write_ads(tables, folder)
    write_json(folder / "draw.json", draw)
    return tables


def _bucket(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values).astype(str)


def synthetic_frame(tables: dict, shop) -> pd.DataFrame:
    """Every candidate with what a shop can observe about it: the ad's brand, category and
    price, the page's type and category, the user's typical viewed price (median over their
    events), logged position ("0" when not shown) and click; plus the truth columns
    ``relevance_prob`` and ``click_prob``, which no model reads."""
    c, truth = tables["ad_candidates"].copy(), tables["ad_truth"]
    same = (c["request_id"].to_numpy() == truth["request_id"].to_numpy()) & (
        c["item_id"].to_numpy() == truth["item_id"].to_numpy()
    )
    if len(c) != len(truth) or not same.all():
        raise ValueError("ad_truth is not row-aligned with ad_candidates: draw the ads again")
    c["relevance_prob"] = truth["relevance_prob"].to_numpy()
    c["click_prob"] = truth["click_prob"].to_numpy()
    items = shop.items.set_index("item_id")
    c["brand"] = c["item_id"].map(items["brand"]).astype(str)
    c["ad_category"] = c["item_id"].map(items["category"]).astype(str)
    c["ad_top"] = c["ad_category"].str.split(".").str[0]
    c["context_top"] = c["context_category"].str.split(".").str[0]
    seen = shop.events[shop.events["price"].notna() & shop.events["user_id"].notna()]
    user_price = seen.groupby("user_id")["price"].median()
    c["user_price"] = c["user_id"].map(user_price).fillna(user_price.median())
    edges = np.quantile(items["price"].dropna(), np.linspace(0.1, 0.9, 9))
    c["price_bucket"] = _bucket(c["price"].to_numpy(), edges)
    c["user_price_bucket"] = _bucket(c["user_price"].to_numpy(), edges)
    c["log_price"] = np.log1p(c["price"])
    c["log_user_price"] = np.log1p(c["user_price"])
    c["position"] = c["position"].astype(str)
    return c


def split_requests(frame: pd.DataFrame, test_frac=0.2, val_frac=0.1):
    """Requests by time: the first ``1 - test_frac - val_frac`` train, then validation, then
    test (protocol ``temporal-requests``); returns the three frames (all candidates)."""
    first = frame.groupby("request_id")["ts"].first().sort_values(kind="stable")
    n = len(first)
    a, b = int(n * (1 - test_frac - val_frac)), int(n * (1 - test_frac))
    part = pd.Series(np.repeat([0, 1, 2], [a, b - a, n - b]), index=first.index)
    p = frame["request_id"].map(part).to_numpy()
    return frame[p == 0], frame[p == 1], frame[p == 2]


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["position"] != "0"]


def ctr_table(y, predictions: dict, n_boot: int, seed: int, oracle: str | None = None):
    """AUC, PR-AUC, log loss and ECE with intervals (``evaluation.purchase``) and, with an
    oracle row, each model's share of the AUC gap from logistic regression to the oracle."""
    from shopintent.evaluation.purchase import comparison_table

    table = comparison_table(y, predictions, n_boot=n_boot, seed=seed)
    if oracle is not None and oracle in table.index:
        lr, top = table.loc["logreg_hashed", "roc_auc"], table.loc[oracle, "roc_auc"]
        table["gap_closed"] = (table["roc_auc"] - lr) / (top - lr) if top > lr else np.nan
    return table


def by_request(frame: pd.DataFrame, values) -> np.ndarray:
    """(requests, candidates) array of ``values`` aligned with ``frame``'s rows, which must
    hold the same number of candidates per request in order."""
    k = frame.groupby("request_id", sort=False).size().iloc[0]
    return np.asarray(values, dtype=float).reshape(-1, k)


def run_auctions(test: pd.DataFrame, models: dict, fields: ctr.Fields, seed: int) -> dict:
    """Every test request's candidates ranked and priced by each model's serving CTR (position
    set to 1), by the truth (``oracle``) and by bid alone; outcomes per request."""
    test = test.sort_values(["request_id"], kind="stable")
    bids = by_request(test, test["bid"])
    relevance = by_request(test, test["relevance_prob"])
    serving = fields.serving(test)
    rankings = {name: by_request(test, m.predict(serving)) for name, m in models.items()}
    rankings["oracle"] = relevance
    rankings["bid_only"] = np.ones_like(bids)
    return {
        name: auction.simulate_auction(bids, pred, relevance, simulated.EXAMINE, seed)
        for name, pred in rankings.items()
    }


def position_effect(train, val, test, seed: int, models: dict) -> tuple[pd.DataFrame, dict]:
    """Logistic regression and LightGBM with position as a training-only feature (served at 1:
    the notebook's ``models``) and refitted without it (the regression with the C chosen for
    the first, the trees as many as the first kept): rank correlation of the serving score with
    the true P(click | examined) over all test candidates, and each variant's auction outcome."""
    from scipy.stats import spearmanr

    rows, outcomes = [], {}
    test = test.sort_values(["request_id"], kind="stable")
    bids = by_request(test, test["bid"])
    relevance = by_request(test, test["relevance_prob"])
    blind = SYNTHETIC_FIELDS.without("position")
    refits = {
        "logreg_hashed": lambda: ctr.HashedCrossLR(
            blind, seed=seed, c_grid=(models["logreg_hashed"].c_,)
        ),
        "lightgbm": lambda: ctr.LightGBMCTR(
            blind, seed=seed, n_estimators=max(models["lightgbm"].model_.best_iteration_, 1)
        ),
    }
    for name, refit in refits.items():
        for variant, fields, model in (
            ("position_feature", SYNTHETIC_FIELDS, models[name]),
            ("no_position", blind, None),
        ):
            model = model or refit().fit(shown(train), shown(val))
            score = model.predict(fields.serving(test))
            outcomes[f"{variant}/{name}"] = auction.simulate_auction(
                bids, by_request(test, score), relevance, simulated.EXAMINE, seed
            )
            rows.append(
                {
                    "variant": variant,
                    "model": name,
                    "spearman_relevance": float(spearmanr(score, test["relevance_prob"])[0]),
                    "mean_prediction": float(score.mean()),
                    "mean_relevance": float(test["relevance_prob"].mean()),
                }
            )
    return pd.DataFrame(rows), outcomes


def avazu_frame(source: str | Path | None, max_rows: int | None, seed: int = DEFAULT_SEED):
    """(frame, fields, note) of the real ad-click sample at ``source`` (relative paths from the
    repository root), or (None, None, reason) when absent. Fields: every column but ``click``
    and the constant ones (one hour: ``hour`` is one value)."""
    from shopintent.config import PROJECT_ROOT
    from shopintent.data.sources import ad_clicks

    if not source:
        return None, None, "AVAZU_SOURCE is empty"
    path = (Path(source) if Path(source).is_absolute() else PROJECT_ROOT / source).resolve()
    if not path.exists():
        return None, None, f"AVAZU_SOURCE={source} does not exist ({path})"
    frame = ad_clicks.load(path)
    if max_rows and len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed).sort_index()
    cols = tuple(c for c in frame.columns if c != "click" and frame[c].nunique() > 1)
    crosses = tuple(p for p in AVAZU_CROSSES if p[0] in cols and p[1] in cols)
    return frame, ctr.Fields(categorical=cols, crosses=crosses), f"read from {path}"


def random_split(frame: pd.DataFrame, seed: int, test_frac=0.2, val_frac=0.1):
    """Protocol ``random-rows``: a seeded shuffle cut into train / validation / test."""
    order = np.random.default_rng(seed).permutation(len(frame))
    a, b = int(len(frame) * (1 - test_frac - val_frac)), int(len(frame) * (1 - test_frac))
    return frame.iloc[order[:a]], frame.iloc[order[a:b]], frame.iloc[order[b:]]


def metrics_dict(
    synthetic: pd.DataFrame | None,
    auctions: pd.DataFrame | None,
    position: pd.DataFrame | None,
    position_auctions: pd.DataFrame | None,
    avazu: pd.DataFrame | None,
    counts: dict,
) -> dict:
    """Flat ``ads/...`` keys from the notebook's tables."""
    out = {f"ads/data/{k}": v for k, v in counts.items()}

    def put(prefix, table, cols):
        if table is None:
            return
        for model, row in table.iterrows():
            for c in cols:
                for s in ("", "_low", "_high"):
                    if f"{c}{s}" in row and pd.notna(row[f"{c}{s}"]):
                        out[f"{prefix}/{model}/{c}{s}"] = float(row[f"{c}{s}"])

    ctr_cols = ("roc_auc", "log_loss", "ece", "pr_auc", "gap_closed")
    put("ads/synthetic", synthetic, ctr_cols)
    auction_cols = ("revenue", "clicks", "relevance", "welfare", "revenue_share", "clicks_share")
    put("ads/auction", auctions, auction_cols)
    put("ads/position_auction", position_auctions, auction_cols)
    if position is not None:
        for _, row in position.iterrows():
            out[f"ads/position/{row['variant']}_{row['model']}/spearman_relevance"] = float(
                row["spearman_relevance"]
            )
    put("ads/avazu", avazu, ctr_cols[:4])
    return out


__all__ = [
    "SYNTHETIC_FIELDS",
    "Settings",
    "ad_tables",
    "avazu_frame",
    "ctr_table",
    "has_latent_world",
    "metrics_dict",
    "position_effect",
    "random_split",
    "run_auctions",
    "shown",
    "split_requests",
    "synthetic_frame",
]


def reliability_figure(panels: dict[str, tuple], n_bins: int = 10):
    """Observed click rate per bin of predicted CTR, one panel per data set (title -> (clicks,
    {model: predictions})); points on the diagonal are calibrated."""
    from shopintent.studies.figures import reliability_figure as draw

    return draw(
        {title: {m: (y, p) for m, p in preds.items()} for title, (y, preds) in panels.items()},
        "Calibration of predicted CTR (test impressions)",
        "mean predicted CTR",
        "observed click rate",
        "impressions",
        n_bins=n_bins,
    )


def auction_figure(table: pd.DataFrame):
    """Each ranking's expected revenue and clicks per request as a share of the oracle's,
    with 95% intervals."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for key in ("revenue_share", "clicks_share"):
        fig.add_bar(
            x=table.index,
            y=table[key],
            name=key.replace("_share", ""),
            error_y={
                "type": "data",
                "array": table[f"{key}_high"] - table[key],
                "arrayminus": table[key] - table[f"{key}_low"],
            },
        )
    fig.add_hline(y=0.9, line_dash="dash", annotation_text="90% of the oracle")
    fig.update_layout(
        barmode="group",
        title="Auction by bid x predicted CTR: share of the oracle ranking's revenue and clicks",
        yaxis_title="share of oracle",
    )
    return fig


def validation_auc(models: dict, val: pd.DataFrame) -> dict[str, float]:
    """Each model's ROC-AUC on the validation impressions: how the notebook picks its best
    model (never on test)."""
    from sklearn.metrics import roc_auc_score

    return {name: float(roc_auc_score(val["click"], m.predict(val))) for name, m in models.items()}
