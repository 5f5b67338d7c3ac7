"""The campaign layout on the real Hillstrom sample, and bad inputs named by file and column."""

import pandas as pd
import pytest

from shopintent.data.sources import campaigns


def test_hillstrom(shared_data):
    data = campaigns.load(shared_data / "hillstrom-email")
    c = data.extras["campaign"]
    assert len(c) == 64_000 and c["user_id"].is_unique
    assert data.meta["arms"] == {"Womens E-Mail": 21387, "Mens E-Mail": 21307, "No E-Mail": 21306}
    rates = c.groupby("arm")[["visit", "conversion"]].mean()
    # the README's published rates
    assert rates.loc["Mens E-Mail", "visit"] == pytest.approx(0.1828, abs=5e-4)
    assert rates.loc["No E-Mail", "conversion"] == pytest.approx(0.0057, abs=5e-4)
    assert c["treated"].sum() == 64_000 - 21306
    assert {"recency", "history", "channel"} <= set(data.meta["covariates"])
    assert len(data.events) == 0


def _write(tmp_path, frame) -> str:
    path = tmp_path / "camp.csv"
    frame.to_csv(path, index=False)
    return path


def test_bad_inputs_are_named(tmp_path):
    good = pd.DataFrame({"segment": ["No E-Mail", "Mail"], "visit": [0, 1], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"camp.csv: missing column\(s\) conversion"):
        campaigns.load(_write(tmp_path, good), outcomes=("visit", "conversion"))
    bad = good.assign(visit=["0", "yes"])
    with pytest.raises(
        ValueError, match=r"camp.csv: column visit: 1 values are not numbers \(lines 3: 'yes'\)"
    ):
        campaigns.load(_write(tmp_path, bad), outcomes=("visit",))
    with pytest.raises(ValueError, match="no row has the control arm 'Control'"):
        campaigns.load(_write(tmp_path, good), control="Control", outcomes=("visit",))
    data = campaigns.load(_write(tmp_path, good), outcomes=("visit",))
    assert data.extras["campaign"]["treated"].tolist() == [False, True]
    with pytest.raises(FileNotFoundError, match="no such campaign file"):
        campaigns.load(tmp_path / "missing.csv")
