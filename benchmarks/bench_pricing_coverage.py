"""Does double machine learning recover the synthetic shop's true elasticities, seed after seed?

    python benchmarks/bench_pricing_coverage.py [--profile default] [--seeds 42 43 44 45 46]

For each seed the shop's price history is drawn exactly as ``generate(profile, seed)`` draws it
(the catalogue's stream, then the pricing stream), and the naive, randomised-test and DML
estimates are held against the true elasticity per category. Prints per seed the share of
categories within ±10% of the truth and the share whose 95% interval covers it, then the pooled
shares (issue 23's acceptance: within ±10% for >= 80% of categories, coverage >= 90%).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from shopintent.config import get_profile, rng
from shopintent.data.synthetic.catalog import make_catalog
from shopintent.data.synthetic.pricing import WEEKS, make_price_history
from shopintent.models.pricing.panel import demand_panel
from shopintent.studies import pricing as study


def one_seed(profile: str, seed: int, n_estimators: int, folds: int) -> pd.DataFrame:
    cat = make_catalog(get_profile(profile).n_items, rng(seed, "catalog"))
    out = make_price_history(cat, WEEKS[profile], rng(seed, "pricing"))
    panel = demand_panel(out["price_history"])
    table = study.estimates_vs_truth(panel, out["elasticity_truth"], seed, n_estimators, folds)
    return table.assign(seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 45, 46])
    args = parser.parse_args()
    settings = study.Settings.for_profile(args.profile)
    n_est, folds = settings.n_estimators, settings.folds
    print(
        f"profile {args.profile}, {n_est} trees per nuisance model, {folds} cross-fitting folds, "
        f"seeds {args.seeds}"
    )
    print(
        f"{'seed':>5} {'method':<11} {'within ±10%':>11} {'coverage':>9} {'mean bias':>10} {'s':>6}"
    )
    tables = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        table = one_seed(args.profile, seed, n_est, folds)
        took = time.perf_counter() - t0
        for method, row in study.accuracy(table).iterrows():
            print(
                f"{seed:>5} {method:<11} {row.share_within_10pct:>11.2f} {row.coverage:>9.2f} "
                f"{row.mean_bias:>10.3f} {took:>6.0f}"
            )
        tables.append(table)
    pooled = study.accuracy(pd.concat(tables))
    print("\npooled over seeds (category-seed pairs):")
    print(pooled.round(3).to_string())
    dml = pooled.loc["dml"]
    ok = dml.share_within_10pct >= 0.8 and dml.coverage >= 0.9
    print(
        f"\nDML: within ±10% {dml.share_within_10pct:.0%}, coverage {dml.coverage:.0%} -> "
        f"acceptance {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
