"""The canonical schema: each kind of bad input raises one clear error, nothing half-written."""

import os

import numpy as np
import pandas as pd
import pytest

from shopintent.data import store
from shopintent.data.schema import SchemaError, conform, known_user_events
from shopintent.data.store import ShopData


def _events(**over):
    df = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2"],
            "session_id": ["s1", "s1", "s2", "s2"],
            "ts": [
                "2024-05-01T10:00:00Z",
                "2024-05-01T10:01:00Z",
                "2024-05-02T09:00:00Z",
                "2024-05-02T09:05:00Z",
            ],
            "event_type": ["search", "view", "view", "purchase"],
            "item_id": [None, "a", "b", "b"],
            "query_id": ["q1", None, None, None],
            "price": [None, 10.0, 25.5, 25.5],
        }
    )
    for k, v in over.items():
        df[k] = v
    return df


def _items():
    return pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "title": ["Red mug", "Blue cup"],
            "brand": ["Acme", None],
            "category": ["home.kitchen", "home.kitchen"],
            "price": [10.0, 25.5],
            "attributes": [{"colour": "red"}, None],
            "description": ["A mug.", None],
        }
    )


def _queries():
    return pd.DataFrame(
        {
            "query_id": ["q1"],
            "text": ["acme red mug"],
            "intent": ["navigational"],
            "entities": [[{"start": 0, "end": 4, "label": "brand"}]],
        }
    )


def _reviews():
    return pd.DataFrame(
        {
            "review_id": ["r1"],
            "user_id": ["u2"],
            "item_id": ["b"],
            "ts": [pd.Timestamp("2024-05-09", tz="UTC")],
            "rating": [4],
            "text": ["Nice"],
        }
    )


def _shop():
    return ShopData.from_tables(_events(), _items(), _queries(), _reviews())


def test_conform_gives_canonical_dtypes_and_adds_missing_optional_columns():
    ev = conform("events", _events().drop(columns=["price"]))
    assert list(ev.columns) == [
        "user_id",
        "session_id",
        "ts",
        "event_type",
        "item_id",
        "query_id",
        "price",
    ]
    assert str(ev["ts"].dtype) == "datetime64[us, UTC]"
    assert ev["price"].isna().all() and ev["price"].dtype == "float64"
    assert ev.loc[1, "ts"] == pd.Timestamp("2024-05-01 10:01", tz="UTC")
    rev = conform("reviews", _reviews())
    assert rev["sentiment"].isna().all() and rev["rating"].dtype == "int64"


def test_numeric_ids_become_text_without_a_decimal_point():
    ev = conform("events", _events(user_id=[1.0, 1.0, 2.0, 2.0]))
    assert ev["user_id"].tolist() == ["1", "1", "2", "2"]


@pytest.mark.parametrize(
    "table, df, message",
    [
        ("events", _events().drop(columns=["ts"]), r"events: missing required column\(s\) ts"),
        (
            "events",
            _events(price=[None, "abc", 1, 2]),
            r"events.price: 1 values cannot be parsed as float \(rows 1: 'abc'\)",
        ),
        (
            "events",
            _events(event_type=["search", "click", "view", "view"]),
            r"events.event_type: 1 unknown event types .*\(rows 1: 'click'\)",
        ),
        (
            "events",
            _events(ts=["2024-05-01", "2024-13-45", "x", "2024-05-01"]),
            r"events.ts: 2 values cannot be parsed as timestamps \(rows 1, 2: '2024-13-45', 'x'\)",
        ),
        (
            "events",
            _events(ts=["1970-01-01"] * 4),
            r"events.ts: 4 timestamps outside \[1990-01-01, 2100-01-01\)",
        ),
        (
            "events",
            _events(session_id=["s1", None, "s2", "s2"]),
            r"events.session_id: 1 null values where a value is required \(rows 1\)",
        ),
        (
            "events",
            _events(query_id=[None] * 4),
            r"events.query_id: 1 search events without a query_id \(rows 0\)",
        ),
        (
            "events",
            _events(item_id=[None, None, "b", "b"]),
            r"events.item_id: 1 non-search events without an item_id \(rows 1: 'view'\)",
        ),
        (
            "events",
            _events(price=[None, -1.0, 1.0, 1.0]),
            r"events.price: 1 negative or infinite prices",
        ),
        (
            "items",
            pd.concat([_items(), _items().iloc[:1]]),
            r"items.item_id: 1 duplicate keys \(rows 2: 'a'\)",
        ),
        (
            "items",
            _items().assign(attributes=["red", None]),
            r"items.attributes: 1 values are not dicts",
        ),
        (
            "reviews",
            _reviews().assign(rating=[7]),
            r"reviews.rating: 1 ratings outside 1..5 \(rows 0: 7\)",
        ),
        (
            "reviews",
            _reviews().assign(rating=[4.5]),
            r"reviews.rating: 1 values are not whole numbers",
        ),
        (
            "reviews",
            _reviews().assign(sentiment=["happy"]),
            r"reviews.sentiment: 1 unknown sentiments",
        ),
        (
            "queries",
            _queries().assign(entities=[[{"start": 5, "end": 40, "label": "brand"}]]),
            r"queries.entities: 1 entity spans that are not \{start, end, label\} inside the text",
        ),
    ],
)
def test_bad_tables_raise_one_clear_error(table, df, message):
    with pytest.raises(SchemaError, match=message):
        conform(table, df)


def test_optional_means_optional_null_users_empty_events_bare_reviews(tmp_path):
    """A click log without users, a dataset without behaviour, reviews with only text and stars:
    valid, saved and loaded back with the nulls still null."""
    no_users = ShopData.from_tables(_events().drop(columns=["user_id"]), _items(), _queries())
    assert no_users.events["user_id"].isna().all()
    bare = pd.DataFrame({"review_id": ["r1", "r2"], "rating": [1, 5], "text": ["Bad", "Good"]})
    only_reviews = ShopData.from_tables(reviews=bare)
    assert len(only_reviews.events) == 0 and list(only_reviews.events.columns)[:4] == [
        "user_id",
        "session_id",
        "ts",
        "event_type",
    ]
    rev = only_reviews.reviews
    assert rev[["user_id", "item_id", "ts"]].isna().all().all() and rev["rating"].tolist() == [1, 5]
    for name, shop in (("no-users", no_users), ("only-reviews", only_reviews)):
        back = ShopData.load(shop.save(tmp_path / name))
        for table, df in shop.tables().items():
            pd.testing.assert_frame_equal(back.tables()[table], df, check_dtype=True)
    assert back.meta["rows"]["events"] == 0
    with pytest.raises(SchemaError, match=r"reviews.item_id: 1 item ids not found"):
        ShopData.from_tables(_events(), _items(), _queries(), bare.assign(item_id=["a", "zz"]))


def test_references_between_tables_are_checked():
    with pytest.raises(
        SchemaError, match=r"events.item_id: 1 item ids not found in items.item_id \(rows 2: 'zz'\)"
    ):
        ShopData.from_tables(_events(item_id=[None, "a", "zz", "b"]), _items(), _queries())
    with pytest.raises(SchemaError, match=r"events.query_id: 1 query ids not found"):
        ShopData.from_tables(_events(), _items(), _queries().assign(query_id=["other"]))


def test_save_and_load_round_trip(tmp_path):
    shop = _shop()
    shop.extras["truth"] = pd.DataFrame({"session_id": ["s1", "s2"], "p": [0.1, 0.9]})
    path = shop.save(tmp_path / "mini")
    back = ShopData.load(path)
    for name, df in shop.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], df, check_dtype=True)
    assert back.items.loc[0, "attributes"] == {"colour": "red"}
    assert back.queries.loc[0, "entities"] == [{"start": 0, "end": 4, "label": "brand"}]
    assert back.meta["rows"] == {"events": 4, "items": 2, "queries": 1, "reviews": 1, "truth": 2}


def test_a_dataset_missing_a_table_file_is_reported(tmp_path):
    path = _shop().save(tmp_path / "mini")
    (path / "items.parquet").unlink()
    with pytest.raises(SchemaError, match="items.parquet is missing"):
        ShopData.load(path)


def test_invalid_data_is_never_written(tmp_path):
    shop = _shop()
    shop.events.loc[1, "event_type"] = "click"  # broken after construction
    with pytest.raises(SchemaError, match="event_type"):
        shop.save(tmp_path / "mini")
    assert os.listdir(tmp_path) == []


def test_a_failed_write_keeps_the_previous_dataset_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = _shop().save(tmp_path / "mini")
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    calls = []

    def flaky(df, file, table):
        calls.append(table)
        if len(calls) == 3:
            raise OSError("disk full")
        real(df, file, table)

    real = store._write_parquet
    monkeypatch.setattr(store, "_write_parquet", flaky)
    bigger = _shop()
    bigger.extras["more"] = pd.DataFrame({"x": np.arange(3)})
    with pytest.raises(OSError, match="disk full"):
        bigger.save(path)
    assert sorted(os.listdir(tmp_path)) == ["mini"]
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before


def test_known_user_events_leave_anonymous_events_and_optionally_searches_out():
    events = pd.DataFrame(
        {
            "user_id": ["u1", None, "u2", "u2", None],
            "session_id": ["s1", "s2", "s3", "s3", "s4"],
            "item_id": ["a", "b", None, "c", None],
        }
    )
    assert known_user_events(events).index.tolist() == [0, 2, 3]
    assert known_user_events(events, with_item=True).index.tolist() == [0, 3]
    assert known_user_events(events, col_user="session_id").index.tolist() == [0, 1, 2, 3, 4]
