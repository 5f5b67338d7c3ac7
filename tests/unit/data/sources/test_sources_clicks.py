"""The clicks layout: a session click log with a column mapping, on the DIGINETICA views sample
(as a user would export it) and on small logs built here."""

import json

import pandas as pd
import pytest

from shopintent.cli import main
from shopintent.data import registry
from shopintent.data.sources import clicks
from shopintent.data.sources.reading import SourceError

VIEWS = "diginetica-sample-srgnn/sample_train-item-views.csv"
MAP = "session=session_id,item=item_id,user=user_id,time=eventdate"
HEADER = "sid,uid,iid,when,cat,cost,what\n"
ROWS = [
    "s1,u1,a,2024-05-01 10:00:00,shoes,10.5,view\n",
    "s1,u1,b,2024-05-01 10:01:00,shoes,20,cart\n",
    "s1,u1,b,2024-05-01 10:02:00,,20,purchase\n",
    "s2,,a,2024-05-02T09:00:00Z,boots,11,view\n",
]
FULL = "session=sid,item=iid,time=when,user=uid,category=cat,price=cost,event_type=what"


def write(tmp_path, lines, name="log.csv"):
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


def test_real_diginetica_views_as_a_click_log(shared_data):
    shop = clicks.load(shared_data / VIEWS, columns=MAP, sep=";", na_values="NA")
    ev, items = shop.events, shop.items
    assert len(ev) == 12391 and ev["session_id"].nunique() == 2986
    assert (ev["event_type"] == "view").all()  # no event type column: every event a view
    raw = pd.read_csv(shared_data / VIEWS, sep=";", dtype=str, keep_default_na=False)
    assert ev["user_id"].isna().sum() == (raw["user_id"] == "NA").sum() == 7681  # not invented
    assert ev["price"].isna().all() and ev["query_id"].isna().all()
    assert len(items) == 7139 and items[["category", "price", "title"]].isna().all().all()
    assert shop.meta["bad_rows"]["lines_read"][VIEWS.split("/")[1]]["records"] == 12391
    assert shop.meta["bad_rows"]["duplicates"][VIEWS.split("/")[1]]["dropped"] is False
    assert shop.meta["columns"][VIEWS.split("/")[1]]["time"] == "eventdate"


def test_all_fields_mapped(tmp_path):
    shop = clicks.load(write(tmp_path, [HEADER, *ROWS]), columns=FULL)
    ev = shop.events
    assert ev["event_type"].tolist() == ["view", "cart", "purchase", "view"]
    assert ev["user_id"].isna().tolist() == [False, False, False, True]
    assert ev["ts"].iat[3] == pd.Timestamp("2024-05-02 09:00", tz="UTC")
    item = shop.items.set_index("item_id")
    assert item.loc["b", "category"] == "shoes" and item.loc["a", "category"] == "boots"
    assert item.loc["a", "price"] == 11.0 and shop.meta["items_with_several_categories"] == 1


@pytest.mark.parametrize("drop", ["user", "category", "price", "event_type"])
def test_an_optional_field_not_given_is_null(tmp_path, drop):
    mapping = ",".join(p for p in FULL.split(",") if not p.startswith(drop + "="))
    shop = clicks.load(write(tmp_path, [HEADER, *ROWS]), columns=mapping)
    ev, items = shop.events, shop.items
    if drop == "user":
        assert ev["user_id"].isna().all() and shop.meta["events_without_user"] == 4
    if drop == "category":
        assert items["category"].isna().all()
    if drop == "price":
        assert ev["price"].isna().all() and items["price"].isna().all()
    if drop == "event_type":
        assert (ev["event_type"] == "view").all()


def test_unmapped_fields_are_read_from_columns_of_their_own_name(tmp_path):
    path = write(tmp_path, ["session,item,time\n", "s1,a,1714557600000\n"])
    shop = clicks.load(path, time_format="unix_ms")
    assert shop.events["ts"].iat[0] == pd.Timestamp("2024-05-01 10:00", tz="UTC")
    assert shop.events["user_id"].isna().all()


def test_event_types_mapped_from_the_source_values(tmp_path):
    rows = [r.replace(",view\n", ",pv\n").replace(",purchase\n", ",buy\n") for r in ROWS]
    path = write(tmp_path, [HEADER, *rows])
    shop = clicks.load(path, columns=FULL, event_types="view=pv|click,cart=cart,purchase=buy")
    assert shop.events["event_type"].tolist() == ["view", "cart", "purchase", "view"]
    with pytest.raises(
        SourceError, match=r"log.csv line 2: column event_type: 'pv' is not a known"
    ):
        clicks.load(path, columns=FULL)
    skipped = clicks.load(path, columns=FULL, on_bad_rows="skip")
    assert len(skipped.events) == 1 and skipped.meta["bad_rows"]["total"] == 3
    with pytest.raises(ValueError, match=r"--event-types: 'search' is not an event type"):
        clicks.load(path, columns=FULL, event_types="search=q")


def test_a_json_mapping_file(tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(dict(p.split("=") for p in FULL.split(","))))
    assert len(clicks.load(write(tmp_path, [HEADER, *ROWS]), columns=str(mapping)).events) == 4


@pytest.mark.parametrize(
    "columns, rows, message",
    [
        (
            "session=sid,item=iid",
            ROWS,
            r"log.csv line 1: no column for the required field time "
            r"of the clicks layout \(map it with --columns time=COLUMN; columns found: sid, uid",
        ),
        (
            FULL.replace("cost", "Cost"),
            ROWS,
            r"log.csv line 1: field price is mapped to column "
            r"'Cost', which the file lacks \(columns found: sid, uid, iid, when, cat, cost, what\)",
        ),
        (FULL + ",colour=cat", ROWS, r"clicks: --columns names unknown field\(s\) colour"),
        ("session", ROWS, r"--columns: 'session' is not FIELD=COLUMN"),
        (FULL, ["s1,u1,a,yesterday,,1,view\n"], r"log.csv line 2: column time: 'yesterday' is not"),
        (FULL, ["s1,u1,a,1970-01-01,,1,view\n"], r"log.csv line 2: column time: .* outside"),
        (
            FULL,
            [",u1,a,2024-05-01,,1,view\n"],
            r"log.csv line 2: column session: '' is not a non-e",
        ),
        (FULL, ["s1,u1,,2024-05-01,,1,view\n"], r"log.csv line 2: column item: '' is not"),
        (
            FULL,
            ["s1,u1,a,2024-05-01,,-1,view\n"],
            r"log.csv line 2: column price: -1 is negative",
        ),
        (
            FULL,
            ["s1,u1,a,2024-05-01,,cheap,view\n"],
            r"line 2: column price: 'cheap' is not a numb",
        ),
        (FULL, ["s1,u1,a,2024-05-01,,1,view,x\n"], r"log.csv line 2: expected 7 fields"),
    ],
)
def test_bad_input_names_file_field_line_and_column(tmp_path, columns, rows, message):
    with pytest.raises((SourceError, ValueError), match=message):
        clicks.load(write(tmp_path, [HEADER, *rows]), columns=columns)


def test_tsv_and_parquet_files_read_alike(tmp_path):
    df = pd.read_csv(write(tmp_path, [HEADER, *ROWS]), dtype=str)
    df.to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    (tmp_path / "log.csv").unlink()
    from_tsv = clicks.load(tmp_path / "log.tsv", columns=FULL)
    df.assign(cost=df["cost"].astype(float)).to_parquet(tmp_path / "log.parquet")
    from_parquet = clicks.load(tmp_path / "log.parquet", columns=FULL)
    pd.testing.assert_frame_equal(from_tsv.events, from_parquet.events)
    with pytest.raises(SourceError, match=r"log.parquet line 4: column time: '2024-05-02T09"):
        clicks.load(tmp_path / "log.parquet", columns=FULL, time_format="%Y-%m-%d %H:%M:%S")


def test_prepare_under_a_name_and_load_it_back(data_root, tmp_path):
    path = write(tmp_path, [HEADER, *ROWS])
    registry.prepare("clicks", source=path, save_as="myclicks", columns=FULL)
    back = registry.load("myclicks")
    assert len(back.events) == 4 and back.events["user_id"].isna().sum() == 1
    assert back.meta["format"] == "clicks" and back.meta["columns"]["log.csv"]["user"] == "uid"


def test_command_line_takes_the_mapping_and_refuses_it_elsewhere(data_root, tmp_path, capsys):
    path = write(tmp_path, [HEADER, *ROWS])
    args = ["data", "prepare", "--dataset", "clicks", "--source", str(path), "--name", "shop1"]
    assert (
        main([*args, "--columns", FULL, "--event-types", "view=view,cart=cart,purchase=purchase"])
        == 0
    )
    assert "events 4" in capsys.readouterr().out
    assert main(["data", "prepare", "--dataset", "rees46", "--columns", FULL]) == 2
    assert "--columns does not apply to rees46" in capsys.readouterr().err
    assert main([*args, "--columns", "session=sid", "--name", "shop2"]) == 2
    assert "no column for the required field item" in capsys.readouterr().err
