"""Session-prefix features on Spark equal ``features.sessions.build_examples`` on the smoke shop;
the shards they are written to stream back in batches with their labels and splits."""

import numpy as np
import pandas as pd
import pytest

from shopintent.features import sessions
from shopintent.features.sessions import HANDMADE_FEATURES
from shopintent.models.purchase_intent.base import split_examples

# ~40 window columns and two history passes: about a minute of Spark stages on 2 busy cores
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def examples(smoke_shop):
    return sessions.build_examples(smoke_shop.events, smoke_shop.items)


@pytest.fixture(scope="module")
def spark_prefixes(spark_events, spark_items):
    from shopintent.features import spark_prefixes

    return spark_prefixes.with_split(spark_prefixes.prefix_features(spark_events, spark_items))


@pytest.fixture(scope="module")
def got(spark_prefixes):
    out = spark_prefixes.toPandas().sort_values(["session_id", "k"], ignore_index=True)
    for c in ("ts", "start", "end"):
        out[c] = out[c].dt.tz_localize("UTC")  # the session's time zone is UTC
    return out


def test_prefix_features_agree_with_pandas(examples, got):
    want = examples.prefixes.sort_values(["session_id", "k"], ignore_index=True)
    assert len(got) == len(want) and set(want.columns) <= set(got.columns)
    for c in want.columns:
        a, b = got[c], want[c]
        if pd.api.types.is_float_dtype(b):
            np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), atol=1e-9, err_msg=c)
        elif c in ("ts", "start"):
            assert (a.astype(b.dtype) == b).all(), c
        else:
            known = b.notna()
            assert (a.isna() == ~known).all() and (a[known] == b[known]).all(), c
    assert want["label"].sum() > 0 and want["is_full"].sum() == len(examples.sessions)


def test_splits_agree_with_split_examples(examples, got):
    split = split_examples(examples, test_frac=0.2, val_frac=0.1)
    for part, ex in split.parts().items():
        ids = set(got.loc[got["split"] == part, "session_id"])
        assert ids == set(ex.sessions["session_id"]), part
    kept = sum(len(ex.sessions) for ex in split.parts().values())
    assert got.loc[got["split"].notna(), "session_id"].nunique() == kept


def test_shards_stream_in_batches(spark_prefixes, got, tmp_path):
    from shopintent.features import shards
    from shopintent.features import spark_prefixes as sp

    folder = sp.write_shards(spark_prefixes, tmp_path / "prefixes", rows_per_shard=2000)
    files = list(folder.glob("split=*/*.parquet"))
    per_split = got["split"].value_counts().to_dict()
    assert shards.shard_rows(folder) == per_split
    assert len(files) >= sum(-(-n // 2000) for n in per_split.values())  # bounded shards
    x_all, y_all = [], []
    for x, y in shards.batches(folder, "train", HANDMADE_FEATURES, batch_size=500):
        assert x.shape == (len(y), len(HANDMADE_FEATURES)) and len(y) <= 500
        x_all.append(x)
        y_all.append(y)
    train = got[got["split"] == "train"]
    assert (
        sum(map(len, y_all)) == len(train) and np.concatenate(y_all).sum() == train["label"].sum()
    )
    assert np.isclose(np.nansum(np.concatenate(x_all)[:, 0]), train["k"].sum())


def test_shards_as_tf_data(spark_prefixes, got, tmp_path):
    pytest.importorskip("tensorflow")
    from shopintent.features import shards
    from shopintent.features import spark_prefixes as sp

    folder = sp.write_shards(spark_prefixes, tmp_path / "prefixes", rows_per_shard=2000)
    features = ["k", "n_view", "user_rel_price"]
    data = shards.tf_dataset(folder, "test", features, batch_size=256)
    n = sum(int(y.shape[0]) for _, y in data)
    x, _ = next(iter(data))
    assert n == (got["split"] == "test").sum() and tuple(x.shape) == (256, 3)
