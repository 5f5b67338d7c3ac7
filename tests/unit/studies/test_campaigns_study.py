"""Notebook 15's steps: covariates come from the log only, the oracle scores 1 against itself."""

import numpy as np
import pandas as pd

from shopintent.studies import campaigns as study


def test_synthetic_experiment_keeps_the_truth_out_of_the_covariates(smoke_shop):
    exp = study.synthetic_experiment(smoke_shop)
    assert len(exp) == len(smoke_shop.extras["campaign"])
    assert not exp.X.isna().any().any()
    truth_cols = set(smoke_shop.extras["campaign_truth"].columns) | set(
        smoke_shop.extras["user_truth"].columns
    )
    assert not (set(exp.X.columns) & truth_cols - {"user_id"})
    assert set(exp.outcomes) == {"visit", "purchase"} == set(exp.true_uplift)
    ev = smoke_shop.events
    buys = ev[ev["event_type"] == "purchase"].groupby("user_id").size()
    first = smoke_shop.extras["campaign"]["user_id"].iloc[0]
    assert exp.X.loc[0, "purchases"] == buys.get(first, 0)


def test_evaluate_scores_the_oracle_as_the_best(smoke_shop):
    gen = np.random.default_rng(0)
    n = 4000
    uplift = gen.normal(0.02, 0.05, n)
    t = gen.random(n) < 0.5
    y = (gen.random(n) < 0.1 + t * np.clip(uplift, -0.09, None)).astype(float)
    exp = study.Experiment(pd.DataFrame({"x": uplift}), t, {"buy": y}, {"buy": uplift})
    scores = pd.DataFrame({"response": gen.random(n), "oracle": uplift, "random": gen.random(n)})
    table, curves = study.evaluate(exp, "buy", scores, n_boot=50, seed=0)
    assert table.loc["oracle", "share_of_oracle_qini"] == 1
    assert table.loc["oracle", "true_qini"] > table.loc["response", "true_qini"]
    assert (
        table.loc["oracle", "qini_low"]
        <= table.loc["oracle", "qini"]
        <= table.loc["oracle", "qini_high"]
    )
    pol = study.policy_table(exp, "buy", scores, n_boot=50, seed=0)
    assert pol.loc["response", "vs_response"] == 0 and pol.loc["oracle", "vs_response_low"] > 0
    keys = study.metrics({"buy": table}, {"buy": pol})
    assert "uplift/buy/oracle/true_qini" in keys and "uplift/buy/policy/oracle/vs_response" in keys
