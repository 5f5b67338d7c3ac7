"""The support-messages layout: the Bitext sample read with its own column names, and bad files
failing with the file, the column and the rows named."""

import pandas as pd
import pytest

from shopintent.data.sources import support
from shopintent.data.sources.reading import SourceError


def test_bitext_sample(shared_data):
    m = support.load(shared_data / "bitext-customer-support")
    # the figures of ../shared/data/bitext-customer-support/README.md
    assert len(m) == 4514 and m["intent"].nunique() == 27 and m["category"].nunique() == 11
    assert m["category"].value_counts()["ACCOUNT"] == 1041
    assert m["response"].nunique() == 4513 and m["response"].str.contains("\n").any()
    assert m["message_id"].iloc[0].endswith(":1") and m["message_id"].is_unique
    assert support.support_capabilities(m) == {"routing": True, "categories": True, "answers": True}


def test_mapping_and_optional_columns(tmp_path):
    path = tmp_path / "msgs.csv"
    pd.DataFrame(
        {"body": ["where is my parcel", "refund please"], "team": ["track", "refund"]}
    ).to_csv(path, index=False)
    m = support.load(path, columns={"text": "body", "intent": "team"})
    assert m["text"].tolist() == ["where is my parcel", "refund please"]
    assert m["response"].isna().all() and m["category"].isna().all()
    assert support.support_capabilities(m) == {
        "routing": True,
        "categories": False,
        "answers": False,
    }


def test_errors_name_file_column_and_rows(tmp_path):
    path = tmp_path / "msgs.csv"
    pd.DataFrame({"instruction": ["a", "b"], "topic": ["x", "y"]}).to_csv(path, index=False)
    with pytest.raises(
        SourceError, match=r"msgs\.csv: no intent column .*the file has instruction, topic"
    ):
        support.load(path)
    with pytest.raises(SourceError, match=r"column 'nope' \(mapped to intent\) is missing"):
        support.load(path, columns={"intent": "nope"})
    pd.DataFrame({"instruction": ["a", "", "c"], "intent": ["x", "y", "z"]}).to_csv(
        path, index=False
    )
    with pytest.raises(
        SourceError, match=r"column 'instruction' \(text\) is empty in 1 row\(s\) \(rows 2"
    ):
        support.load(path)
    pd.DataFrame({"instruction": ["a", "b"], "intent": ["x", "y"], "id": ["1", "1"]}).to_csv(
        path, index=False
    )
    with pytest.raises(SourceError, match=r"column 'id' \(message_id\) repeats '1'"):
        support.load(path)
    with pytest.raises(SourceError, match="expected one .csv or .parquet file"):
        support.load(tmp_path / "..")
