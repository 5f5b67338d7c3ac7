"""The smoke shop as Spark DataFrames, read once for every Spark EDA agreement test."""

import pytest


@pytest.fixture(scope="session")
def smoke_parquet(smoke_shop, tmp_path_factory):
    """The smoke shop saved as the canonical store (a folder of Parquet tables)."""
    return smoke_shop.save(tmp_path_factory.mktemp("shop") / "synthetic-smoke")


@pytest.fixture(scope="session")
def spark_events(spark, smoke_parquet):
    return spark.read.parquet(str(smoke_parquet / "events.parquet"))


@pytest.fixture(scope="session")
def spark_items(spark, smoke_parquet):
    return spark.read.parquet(str(smoke_parquet / "items.parquet"))
