"""The sharded synthetic shop: written block by block in the Spark store's layout, byte for byte
the same for the same seed, consistent with its own truth tables, and read by the store."""

import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from shopintent.cli import main
from shopintent.data import registry
from shopintent.data.store import ShopData, read_events
from shopintent.data.synthetic.shards import (
    catalogue,
    draw_shard,
    generate_frames,
    generate_shards,
    plan,
)

N, BLOCK = 20_000, 8_000  # three blocks of about 67 users


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    return generate_shards(tmp_path_factory.mktemp("shards") / "shop", N, block_events=BLOCK)


@pytest.fixture(scope="module")
def shop(sharded):
    return ShopData.load(sharded)  # validates every table and the references between them


def _files(root):
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def test_same_seed_and_size_give_byte_identical_files(sharded, tmp_path):
    again = generate_shards(tmp_path / "again", N, block_events=BLOCK)
    a, b = _files(sharded), _files(again)
    assert a.keys() == b.keys() and len(a) > 100
    assert [k for k in a if a[k].read_bytes() != b[k].read_bytes()] == []
    p = plan(N, seed=7, block_events=BLOCK)  # another seed: other users (one block suffices)
    other = draw_shard(p, catalogue(p), 0)["user_truth"]
    mine = pd.read_parquet(sharded / "user_truth.parquet" / "part-00000.parquet")
    assert list(other["user_id"]) == list(mine["user_id"])
    assert not other["activity"].equals(mine["activity"])


def test_meta_names_the_generator_size_and_blocks(sharded, shop):
    meta = json.loads((sharded / "meta.json").read_text())
    assert meta["dataset"] == "synthetic" and meta["source"] == "shopintent.data.synthetic.shards"
    assert (meta["n_events"], meta["seed"], meta["blocks"]) == (N, 42, 3)
    assert meta["events_partitioned_by"] == "date"
    assert meta["rows"] == shop.row_counts()
    assert set(shop.extras) == {"session_truth", "user_truth", "item_truth"}
    assert abs(len(shop.events) - N) < 0.1 * N


def test_truth_tables_cover_every_event_and_match_the_in_memory_columns(shop, smoke_shop):
    for name in ("session_truth", "user_truth", "item_truth"):
        assert list(shop.extras[name].columns) == list(smoke_shop.extras[name].columns)
        assert list(shop.extras[name].dtypes) == list(smoke_shop.extras[name].dtypes)
    assert list(shop.queries.columns) == list(smoke_shop.queries.columns)
    ev, st, ut = shop.events, shop.extras["session_truth"], shop.extras["user_truth"]
    assert set(ev["session_id"]) == set(st["session_id"])
    assert set(ev["user_id"]) <= set(ut["user_id"]) and set(st["user_id"]) <= set(ut["user_id"])
    assert set(shop.items["item_id"]) == set(shop.extras["item_truth"]["item_id"])
    bought = set(ev.loc[ev["event_type"] == "purchase", "session_id"])
    assert bought == set(st.loc[st["purchased"], "session_id"])
    # each session belongs to one user, the one its truth names
    owner = ev.groupby("session_id")["user_id"].agg(["nunique", "first"])
    assert (owner["nunique"] == 1).all()
    assert owner["first"].to_dict() == st.set_index("session_id")["user_id"].to_dict()


def test_ids_are_unique_across_blocks_and_name_their_block(sharded, shop):
    for name, key in (("session_truth", "session_id"), ("user_truth", "user_id")):
        assert shop.extras[name][key].is_unique
    assert shop.queries["query_id"].is_unique and shop.reviews["review_id"].is_unique
    for block in range(3):
        part = f"part-{block:05d}.parquet"
        sessions = pd.read_parquet(sharded / "session_truth.parquet" / part)["session_id"]
        assert sessions.str.startswith(f"s{block}-").all()
        assert sessions.is_monotonic_increasing  # numbered by start time, fixed width
    users = shop.extras["user_truth"]["user_id"]
    assert users.is_monotonic_increasing and users.str.len().nunique() == 1


def test_events_are_partitioned_by_their_utc_day_and_each_file_is_sorted(sharded):
    days = sorted((sharded / "events.parquet").iterdir())
    assert len(days) > 60 and all(d.name.startswith("date=") for d in days)
    for day in days[::10]:
        for file in sorted(day.iterdir()):
            ev = pq.read_table(file).to_pandas()
            assert "date" not in ev.columns
            assert (ev["ts"].dt.strftime("%Y-%m-%d") == day.name.removeprefix("date=")).all()
            key = list(zip(ev["ts"], ev["session_id"], strict=True))
            assert key == sorted(key)
            assert str(ev["ts"].dtype) == "datetime64[us, UTC]"


def test_read_events_reads_columns_and_days(sharded, shop):
    got = read_events(sharded, ["session_id", "ts"], start="2025-02-01", end="2025-02-08")
    ev = shop.events
    want = ev[(ev["ts"] >= "2025-02-01") & (ev["ts"] < "2025-02-08")]
    assert list(got.columns) == ["session_id", "ts"] and len(got) == len(want) > 0
    assert sorted(zip(got["ts"], got["session_id"], strict=True)) == sorted(
        zip(want["ts"], want["session_id"], strict=True)
    )


def test_any_block_is_drawn_again_alone(sharded):
    p = plan(N, block_events=BLOCK)
    alone = draw_shard(p, catalogue(p), 1)
    truth = pd.read_parquet(sharded / "session_truth.parquet" / "part-00001.parquet")
    pd.testing.assert_frame_equal(alone["session_truth"], truth)
    stored = pd.concat(
        pq.read_table(f).to_pandas()
        for f in sorted((sharded / "events.parquet").glob("date=*/part-00001.parquet"))
    )
    pd.testing.assert_frame_equal(alone["events"], stored.reset_index(drop=True))


def test_plan_sizes_the_shop_as_the_profiles_do():
    default, full, big = plan(500_000), plan(5_000_000), plan(10**8, block_events=500_000)
    assert (default.n_users, default.n_items, default.days) == (5_000, 3_000, 120)
    assert (full.n_users, full.n_items, full.days) == (50_000, 20_000, 180)
    assert (big.n_items, big.blocks, sum(big.block_users)) == (20_000, 200, 10**6)
    assert max(big.block_users) - min(big.block_users) <= 1
    with pytest.raises(ValueError, match="at least 1,000 events"):
        plan(10)


def test_the_pandas_engine_holds_the_same_shop(sharded, shop):
    whole = generate_frames(N, block_events=BLOCK)
    key = ["ts", "session_id", "event_type", "item_id"]
    pd.testing.assert_frame_equal(
        whole.events, shop.events.sort_values(key, kind="stable").reset_index(drop=True)
    )
    for name in ("session_truth", "user_truth"):
        pd.testing.assert_frame_equal(whole.extras[name], shop.extras[name])


@pytest.mark.parametrize(
    "text, n",
    [
        ("10000000", 10**7),
        ("1e7", 10**7),
        ("10M", 10**7),
        ("2.5m", 2_500_000),
        ("500k", 500_000),
        ("10_000", 10_000),
    ],
)
def test_events_are_read_as_people_write_them(text, n):
    assert registry.parse_events(text) == n


@pytest.mark.parametrize("text", ["ten", "1.5", "0", "-3", "1e7x"])
def test_events_that_are_not_a_whole_count_are_refused(text):
    with pytest.raises(ValueError, match="--events"):
        registry.parse_events(text)


def test_cli_prepares_a_sharded_shop_that_load_reads(data_root, capsys):
    assert (
        main(["data", "prepare", "--dataset", "synthetic", "--engine", "spark", "--events", "20k"])
        == 0
    )
    path = data_root / "processed" / "synthetic-e20000"
    assert f"-> {path.resolve()}" in capsys.readouterr().out
    assert registry.dataset_dir("synthetic-e20000") == path.resolve()
    shop = registry.load("synthetic-e20000")
    assert (path / "events.parquet").is_dir() and shop.meta["n_events"] == 20_000
    assert abs(len(shop.events) - 20_000) < 2_000
    assert main(["data", "list"]) == 0 and "synthetic-e20000" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="--engine spark --events 30000"):
        registry.load("synthetic-e30000")
    with pytest.raises(ValueError, match="reserved"):
        registry.prepare("rees46", source=path, save_as="synthetic-e5")
    with pytest.raises(ValueError, match="--events sizes the synthetic shop"):
        registry.prepare("rees46", source=path, n_events=1000)


def test_the_latent_world_by_profile_refuses_a_sharded_shop(shop):
    from shopintent.data.synthetic.world import latent_users

    with pytest.raises(ValueError, match="drawn in user blocks"):
        latent_users(shop)
