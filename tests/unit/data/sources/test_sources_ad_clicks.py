"""The ad-clicks layout on Avazu's sample, and a bad label named by file, column and rows."""

import pandas as pd
import pytest

from shopintent.data.sources import ad_clicks
from shopintent.data.sources.reading import SourceError


def test_avazu_sample(shared_data):
    frame = ad_clicks.load(shared_data / "avazu-sample")
    # ../shared/data/README.md: 9,999 impressions, 1,706 clicks
    assert len(frame) == 9999 and int(frame["click"].sum()) == 1706
    assert "id" not in frame.columns and pd.api.types.is_string_dtype(frame["C14"])


def test_bad_labels(tmp_path):
    path = tmp_path / "imps.csv"
    pd.DataFrame({"click": ["0", "2", "1", "yes"], "site": list("abcd")}).to_csv(path, index=False)
    with pytest.raises(
        SourceError,
        match=r"imps\.csv: column 'click' must be 0 or 1; 2 rows .*rows 2, 4: '2', 'yes'",
    ):
        ad_clicks.load(path)
    with pytest.raises(SourceError, match="no label column 'clicked'"):
        ad_clicks.load(path, label="clicked")
