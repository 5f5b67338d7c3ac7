"""The scaling study: measuring a run in a child process (time, memory, the cap), and reading a
benchmark table into slopes, a crossover, a paper estimate and metric keys."""

import math
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from shopintent.processes import tree_memory
from shopintent.studies import spark_path
from shopintent.studies import spark_scaling as scaling


def _table(rows):
    """A benchmark table from (engine, n, total seconds, peak GB, status)."""
    out = []
    for engine, n, seconds, peak, status in rows:
        for step in ("prepare", "eda", "baselines", scaling.TOTAL):
            out.append(
                {
                    "engine": engine,
                    "n_events": n,
                    "step": step,
                    "seconds": seconds if step == scaling.TOTAL else seconds / 3,
                    "peak_python_gb": peak,
                    "peak_jvm_gb": 0.0,
                    "peak_gb": peak,
                    "status": status,
                    "cores": 2,
                }
            )
    return pd.DataFrame(out)


POWER = _table(
    [
        ("spark", 10**5, 50.0, 3.0, "ok"),
        ("spark", 10**6, 100.0, 4.0, "ok"),
        ("spark", 10**7, 100.0 * 10**1.1, 5.0, "ok"),
        ("pandas", 10**5, 5.0, 0.3, "ok"),
        ("pandas", 10**6, 60.0, 3.0, "ok"),
        ("pandas", 10**7, np.nan, 20.5, "over memory cap (20 GB) in baselines"),
    ]
)


def test_slope_is_the_exponent_of_time_in_events_over_finished_runs():
    assert scaling.slope(POWER, "spark") == pytest.approx(1.1)
    assert scaling.slope(POWER, "pandas") is None  # one finished run from 10^6 to 10^7
    assert scaling.slope(POWER, "dask") is None


def test_crossover_names_the_first_size_where_spark_pays():
    assert scaling.crossover(POWER).startswith("at 10,000,000 events pandas did not finish")
    faster = POWER.copy()
    faster.loc[(faster["engine"] == "pandas") & (faster["n_events"] == 10**6), "seconds"] = 200.0
    assert scaling.crossover(faster).startswith("at 1,000,000 events Spark took 100 s")
    only_pandas_wins = POWER[POWER["n_events"] < 10**6]
    assert scaling.crossover(only_pandas_wins).startswith("pandas was faster")


def test_paper_estimate_extrapolates_the_largest_spark_run_and_splits_the_cores():
    est = scaling.paper_estimate(POWER, {"log": 1e8}, workers=(4,), cores_per_worker=8)
    here = 100.0 * 10**1.1 * 10**1.1 / 3600  # one more decade at slope 1.1
    assert est.loc["log", "this machine (h)"] == pytest.approx(here)
    assert est.loc["log", "4 workers (h)"] == pytest.approx(here * 2 / 32)
    with pytest.raises(ValueError, match="no Spark runs"):
        scaling.paper_estimate(POWER[POWER["engine"] == "pandas"], {"log": 1e8})


def test_benchmark_reads_a_table_or_says_how_to_make_one(tmp_path):
    bench, why = scaling.benchmark(tmp_path / "none.csv")
    assert bench is None and "bench_spark_scaling.py" in why
    POWER.to_csv(tmp_path / "b.csv", index=False)
    bench, why = scaling.benchmark(tmp_path / "b.csv")
    assert why is None and bench.slopes["spark"] == pytest.approx(1.1)
    keys = scaling.metric_keys(bench)
    assert keys["synthetic-sized/scaling/spark/largest_events"] == 1e7
    assert keys["synthetic-sized/scaling/pandas/largest_events"] == 1e6  # the largest finished
    assert keys["synthetic-sized/scaling/pandas/peak_gb"] == 3.0
    assert all(v is None for v in scaling.metric_keys(None).values())
    pd.DataFrame({"engine": ["spark"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="bad.csv: not a scaling benchmark table"):
        scaling.read_results(tmp_path / "bad.csv")


def test_scaling_figure_draws_both_engines_and_marks_runs_that_did_not_finish():
    fig = scaling.scaling_figure(POWER)
    names = {t.name for t in fig.data}
    assert {"spark", "pandas", "pandas: did not finish"} <= names


def test_tree_memory_counts_a_process_and_its_children():
    code = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'input()'])"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    try:
        time.sleep(1.0)  # both interpreters up
        mem = tree_memory(proc.pid)
        assert mem["python"] > 2 * (4 << 20) and mem["jvm"] == 0  # two interpreters, no Java
    finally:
        proc.communicate(b"\n", timeout=30)


def test_measure_times_each_step_in_a_child_and_stops_it_at_the_memory_cap(tmp_path):
    table = scaling.measure("pandas", 3_000, workdir=tmp_path, interval_s=0.05)
    assert list(table["step"]) == ["prepare", "eda", "baselines", scaling.TOTAL]
    assert (table["status"] == scaling.OK).all() and (table["seconds"] > 0).all()
    assert table["seconds"].iloc[-1] == pytest.approx(table["seconds"].iloc[:-1].sum())
    assert (table["peak_gb"].dropna() > 0.05).all()  # a step shorter than a sample has none
    capped = scaling.measure("pandas", 3_000, workdir=tmp_path, cap_gb=0.05, interval_s=0.05)
    assert capped["status"].iloc[-1].startswith("over memory cap (0.05 GB)")
    assert math.isnan(capped["seconds"].iloc[-1])
    assert list(tmp_path.iterdir()) == []  # the child's data went with it


def test_side_by_side_flattens_and_differences_what_both_engines_give():
    table = spark_path.side_by_side(
        {"a": 1.0, "b": None, "m": {"x": 0.5, "y": 2.0}, "text": "x"},
        {"a": 1.25, "b": None, "m": {"x": 0.5}, "only": 3.0},
    )
    assert list(table.index) == ["a", "b", "m/x"]
    assert table.loc["a", "abs_diff"] == 0.25 and table.loc["m/x", "abs_diff"] == 0.0
    assert table.loc["b", "abs_diff"] is None or math.isnan(table.loc["b", "abs_diff"])


def test_pandas_fits_compares_the_logs_events_with_the_memory_free(tmp_path, monkeypatch):
    import json

    from shopintent.data import memory

    (tmp_path / "meta.json").write_text(json.dumps({"rows": {"events": 10_000_000}}))
    monkeypatch.setattr(memory, "available_bytes", lambda: 40 << 30)
    assert spark_path.pandas_fits(tmp_path) == (True, None)
    monkeypatch.setattr(memory, "available_bytes", lambda: 4 << 30)
    fits, why = spark_path.pandas_fits(tmp_path)
    assert not fits and why.startswith("10,000,000 events need about 15.0 GB in pandas")
    assert "runs on Spark alone" in why


def test_spark_alone_records_spark_numbers_and_no_differences():
    """Where pandas did not run (the log would not fit), the tables hold Spark's numbers only
    and the agreement keys are None, never a reassuring 0."""
    got = {m: {"ndcg@10": 0.1, "recall@20": 0.2} for m in spark_path.MODELS}
    table = spark_path.spark_only(got)
    assert table["pandas"].isna().all() and table["abs_diff"].isna().all()
    assert table.loc["item_knn/ndcg@10", "spark"] == 0.1
    recs = spark_path.Agreement(table, {"spark": 5.0}, {}, compared=False)
    eda = spark_path.Agreement(spark_path.spark_only({"eda/n": 3.0}), {"spark": 2.0}, {}, False)
    keys = spark_path.metric_keys(eda, recs)
    assert keys["spark/eda/max_abs_diff"] is None and keys["spark/recs/exact_max_abs_diff"] is None
    assert keys["spark/recs/item_knn/ndcg@10"] == 0.1
    assert keys["spark/recs/item_knn/abs_diff/ndcg@10"] is None
    assert keys["spark/recs/spark_seconds"] == 5.0 and keys["spark/recs/pandas_seconds"] is None
    assert recs.disagree(1e-9).empty


def test_spark_capabilities_read_the_log_by_the_pandas_rules(spark, tmp_path):
    """The capabilities the Spark-alone path checks, from one Spark aggregation: blank ids
    count as none, one distinct time is no times, a placeholder log has no behaviour."""
    import datetime as dt
    import json

    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    schema = "user_id string, item_id string, ts timestamp"
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"dataset": "tiny", "rows": {"events": 2}}))
    good = spark.createDataFrame([("u1", "i1", t0), ("u2", None, t0 + dt.timedelta(1))], schema)
    caps = spark_path.spark_capabilities(good, tmp_path)
    assert caps.has("events", "users", "interactions", "timestamps")
    assert caps.detail("interactions") == "1 events with an item"
    poor = spark.createDataFrame([(" ", "i1", t0), (None, "i2", t0)], schema)
    caps = spark_path.spark_capabilities(poor, tmp_path)
    assert caps.missing("users", "timestamps") == (
        "no user ids; no event times (one time for every event)"
    )
    meta.write_text(json.dumps({"dataset": "tiny", "has_behaviour": False}))
    caps = spark_path.spark_capabilities(good, tmp_path)
    assert caps.skip_reason("the study on Spark", "events") == (
        "tiny: the study on Spark skipped: no behaviour log (its 2 events are placeholders "
        "for its queries)"
    )


def test_disagree_leaves_out_the_models_that_agree_only_within_seed_noise():
    table = spark_path.side_by_side(
        {"item_knn": {"ndcg@10": 0.2}, "als": {"ndcg@10": 0.10}},
        {"item_knn": {"ndcg@10": 0.2 + 1e-6}, "als": {"ndcg@10": 0.11}},
    )
    recs = spark_path.Agreement(table, {}, {})
    assert list(recs.disagree(1e-9).index) == ["item_knn/ndcg@10"]
    assert list(recs.disagree(1e-3).index) == []
    assert list(recs.disagree(1e-3, exact_only=False).index) == ["als/ndcg@10"]
