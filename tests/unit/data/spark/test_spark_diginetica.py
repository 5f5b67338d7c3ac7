"""DIGINETICA prepared on Spark gives the pandas engine's tables (shared ``spark`` fixture)."""

from pathlib import Path

import pandas as pd
import pytest

from shopintent.data import registry


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


def _trimmed(sample: Path, folder: Path, views: int = 3000) -> Path:
    """The real sample's first ``views`` view lines, its purchase lines and the categories of
    their items: the same files, small enough for the fast tier."""
    folder.mkdir()
    lines = (sample / "sample_train-item-views.csv").read_text().splitlines(keepends=True)
    (folder / "sample_train-item-views.csv").write_text("".join(lines[: views + 1]))
    buys = (sample / "train-purchases.csv").read_text().splitlines(keepends=True)
    (folder / "train-purchases.csv").write_text("".join(buys))
    seen = {x.split(";")[2] for x in lines[1 : views + 1]} | {
        x.rstrip().split(";")[-1] for x in buys
    }
    cats = (sample / "product-categories.csv").read_text().splitlines(keepends=True)
    kept = [x for x in cats[1:] if x.split(";")[0] in seen]
    (folder / "product-categories.csv").write_text("".join(cats[:1] + kept))
    return folder


# slow: about a minute under load (the full purchases and categories files); rees46 and taobao
# keep the Spark prepare's identity with pandas in the fast tier
@pytest.mark.slow
def test_prepare_on_spark_equals_the_pandas_prepare(spark, shared_data, data_root, tmp_path):
    source = _trimmed(shared_data / "diginetica-sample-srgnn", tmp_path / "diginetica")
    registry.prepare("diginetica", source=source)
    on_pandas = registry.load("diginetica")
    registry.prepare(
        "diginetica", source=source, engine="spark", spark_master="local[2]", save_as="d"
    )
    on_spark = registry.load("d")
    for table in ("events", "items", "queries", "reviews"):
        a, b = getattr(on_pandas, table), getattr(on_spark, table)
        assert list(b.columns) == list(a.columns), table
        pd.testing.assert_frame_equal(_sorted(b), _sorted(a), obj=table)
    keys = (
        "purchase_lines",
        "purchase_lines_outside_view_sessions",
        "purchases_moved_after_last_view",
        "sessions_with_several_users",
    )
    assert {k: on_spark.meta[k] for k in keys} == {k: on_pandas.meta[k] for k in keys}
    assert on_spark.meta["purchase_lines"] > 0 and len(on_spark.events) > 3000
    scratch = Path(spark.sparkContext.getConf().get("spark.local.dir"))
    assert not list(scratch.glob("diginetica-*"))  # the loader's intermediate files are gone
