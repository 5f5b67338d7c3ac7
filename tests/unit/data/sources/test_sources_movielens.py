"""MovieLens 100K loader: the real RecBole sample, a GroupLens-layout copy, and broken copies."""

import shutil

import pandas as pd
import pytest

from shopintent.data.sources import movielens
from shopintent.data.sources.reading import SourceError
from shopintent.data.store import ShopData

SAMPLE = "movielens-100k-recbole"
# items 1-600 of ml-100k.item: includes 267 (no title, year, genre) and 543 (non-ASCII title)
N_ITEMS = 600


@pytest.fixture(scope="module")
def shop(shared_data):
    return movielens.load(shared_data / SAMPLE)


@pytest.fixture
def recbole(shared_data):
    """The first rows of each RecBole file (header included), as lists of lines."""
    out = {}
    for ext, n in (("inter", 300), ("item", N_ITEMS + 1), ("user", 944), ("kg", 50), ("link", 50)):
        with open(shared_data / SAMPLE / f"ml-100k.{ext}", encoding="utf-8") as f:
            out[ext] = [next(f) for _ in range(n)]
    keep = [line for line in out["inter"][1:] if int(line.split("\t")[1]) <= N_ITEMS]
    out["inter"] = out["inter"][:1] + keep
    return out


def write_recbole(folder, files, skip=()):
    folder.mkdir(exist_ok=True)
    for ext, lines in files.items():
        if ext not in skip:
            (folder / f"ml-100k.{ext}").write_text("".join(lines), encoding="utf-8")
    return folder


def write_grouplens(folder, files):
    """u.data, u.item and u.user built from RecBole rows.

    u.item is latin-1, with the year back in the title and genre flags.
    """
    folder.mkdir(exist_ok=True)
    (folder / "u.data").write_text("".join(files["inter"][1:]))
    items = []
    for line in files["item"][1:]:
        item_id, title, year, genres = line.rstrip("\n").split("\t")
        if title == "unkonwn":
            title, date = "unknown", ""
        else:
            title, date = f"{title} ({year})", f"01-Jan-{year}"
        flags = ["1" if g in genres.split() else "0" for g in movielens.GENRES]
        url = f"http://us.imdb.com/M/title-exact?{item_id}" if date else ""
        items.append("|".join([item_id, title, date, "", url, *flags]) + "\n")
    (folder / "u.item").write_bytes("".join(items).encode("latin-1"))
    (folder / "u.user").write_text("".join(line.replace("\t", "|") for line in files["user"][1:]))
    return folder


def test_real_sample_counts(shop):
    # Matches the data README: 100,000 ratings, 943 users, 1,682 items, 91,631 KG triples.
    assert shop.row_counts() == {
        "events": 100000,
        "items": 1682,
        "queries": 0,
        "reviews": 0,
        "users": 943,
        "kg": 91631,
        "kg_link": 1598,
    }
    ev = shop.events
    assert ev["user_id"].nunique() == 943 and ev["item_id"].nunique() == 1682
    assert (ev["event_type"] == "view").all() and ev["price"].isna().all()
    assert ev["rating"].value_counts().to_dict() == {
        4.0: 34174,
        3.0: 27145,
        5.0: 21201,
        2.0: 11370,
        1.0: 6110,
    }
    assert ev["session_id"].nunique() == 2515  # one per user and UTC day
    assert shop.meta["layout"] == "recbole" and shop.meta["bad_rows"]["total"] == 0
    assert shop.items["category"].value_counts().head(2).to_dict() == {
        "movies.drama": 531,
        "movies.comedy": 426,
    }
    assert (
        shop.items["category"].isna().sum() == 2
    )  # items 267 and 1373 have only the "unknown" genre


def test_real_sample_spot_values(shop):
    # ml-100k.inter line 2: 196  242  3  881250949
    first = shop.events[(shop.events["user_id"] == "196") & (shop.events["item_id"] == "242")].iloc[
        0
    ]
    assert first["ts"] == pd.Timestamp(881250949, unit="s", tz="UTC") and first["rating"] == 3.0
    assert first["session_id"] == "196-1997-12-04"
    items = shop.items.set_index("item_id")
    # ml-100k.item line 2: 1  Toy Story  1995  Animation Children's Comedy
    assert (
        items.loc["1", "title"] == "Toy Story" and items.loc["1", "category"] == "movies.animation"
    )
    assert items.loc["1", "attributes"] == {
        "genres": "Animation|Children's|Comedy",
        "release_year": "1995",
    }
    assert items.loc["543", "title"] == "Misérables, Les"
    # 267: "unkonwn" title and year are placeholders, "unknown" is no genre;
    # 1412's release_year is "V"
    assert pd.isna(items.loc["267", "title"]) and items.loc["267", "attributes"] is None
    assert items.loc["1412", "attributes"] == {"genres": "Animation|Children's"}
    assert items.loc["1373", "attributes"] == {"release_year": "1971"}
    kg = shop.extras["kg"]
    assert kg.iloc[0].to_dict() == {
        "head": "m.04ctbw8",
        "relation": "film.producer.film",
        "tail": "m.0bln8",
    }
    assert kg["relation"].nunique() == 24
    assert shop.extras["kg_link"].iloc[0].to_dict() == {"item_id": "476", "entity_id": "m.08gjyx"}
    users = shop.extras["users"].set_index("user_id")
    assert users.loc["1"].to_dict() == {
        "age": 24,
        "gender": "M",
        "occupation": "technician",
        "zip_code": "85711",
    }


def test_round_trip(shop, tmp_path):
    back = ShopData.load(shop.save(tmp_path / "movielens"))
    assert back.meta["extras"] == ["kg", "kg_link", "users"]
    for name, df in shop.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], df, check_dtype=False)


def test_grouplens_layout_gives_the_same_tables(tmp_path, recbole):
    a = movielens.load(write_recbole(tmp_path / "recbole", recbole))
    b = movielens.load(write_grouplens(tmp_path / "grouplens", recbole))
    assert (a.meta["layout"], b.meta["layout"]) == ("recbole", "grouplens")
    assert len(b.events) == len(recbole["inter"]) - 1 and len(b.items) == N_ITEMS
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.extras["users"], b.extras["users"])
    cols = ["item_id", "title", "category"]
    pd.testing.assert_frame_equal(a.items[cols], b.items[cols])
    urls = [
        d.pop("imdb_url") if d else None for d in b.items["attributes"]
    ]  # only GroupLens has IMDb links
    assert b.items["attributes"].tolist() == a.items["attributes"].tolist()
    assert urls[0] == "http://us.imdb.com/M/title-exact?1" and urls[266] is None
    assert (
        b.items.set_index("item_id").loc["543", "title"] == "Misérables, Les"
    )  # u.item is latin-1
    assert set(b.extras) == {"users"}  # no knowledge graph in the GroupLens layout


def test_a_file_as_source_and_optional_files(tmp_path, recbole):
    folder = write_recbole(tmp_path / "r", recbole, skip=("user", "kg", "link"))
    shop = movielens.load(folder / "ml-100k.inter")
    assert shop.extras == {} and len(shop.events) == len(recbole["inter"]) - 1
    gl = write_grouplens(tmp_path / "g", recbole)
    (gl / "u.user").unlink()
    assert movielens.load(gl / "u.data").extras == {}


@pytest.mark.parametrize(
    "ext, mutate, message",
    [
        (
            "inter",
            lambda ls: ls[:30] + [ls[30][:5]],
            r"ml-100k.inter line 31: expected 4 fields, found 2: "
            r"column\(s\) rating:float, timestamp:float missing",
        ),
        (
            "inter",
            lambda ls: [x.replace("\t", ",") for x in ls],
            r"ml-100k.inter line 1: missing column\(s\) user_id:token, .*looks separated by ','",
        ),
        (
            "inter",
            lambda ls: [x.rsplit("\t", 1)[0] + "\n" for x in ls],
            r"ml-100k.inter line 1: missing column\(s\) timestamp:float",
        ),
        (
            "inter",
            lambda ls: ls[:9] + ["196\t242\tthree\t881250949\n"] + ls[9:],
            r"ml-100k.inter line 10: column rating: 'three' is not a number",
        ),
        (
            "inter",
            lambda ls: ls[:9] + ["196\t242\t7\t881250949\n"] + ls[9:],
            r"ml-100k.inter line 10: column rating: 7 is outside 0.5..5",
        ),
        (
            "inter",
            lambda ls: ls[:9] + ["196\t242\t3\tyesterday\n"] + ls[9:],
            r"ml-100k.inter line 10: column timestamp: 'yesterday' is not unix seconds",
        ),
        (
            "inter",
            lambda ls: ls[:9] + ["196\t9999\t3\t881250949\n"] + ls[9:],
            r"ml-100k.inter line 10: column item_id: '9999' is not in the item file",
        ),
        (
            "item",
            lambda ls: ls + ["1\tOther title\t1995\tAnimation\n"],
            r"ml-100k.item line 602: column item_id: '1' repeats the key of an earlier line "
            r"with other values",
        ),
        (
            "item",
            lambda ls: ls[:1],
            r"ml-100k.inter line \d+: column item_id: '\d+' is not in the item file",
        ),
        (
            "user",
            lambda ls: ls[:4] + ["5\tforty\tM\tother\t12345\n"] + ls[4:],
            r"ml-100k.user line 5: column age: 'forty' is not an integer",
        ),
        (
            "kg",
            lambda ls: ls[:3] + ["m.1\t\tm.2\n"] + ls[3:],
            r"ml-100k.kg line 4: column relation_id: '' is not a non-empty",
        ),
        ("link", lambda ls: [], r"ml-100k.link: the file is empty"),
    ],
)
def test_bad_input_names_file_line_and_column(tmp_path, recbole, ext, mutate, message):
    folder = write_recbole(tmp_path, {**recbole, ext: mutate(recbole[ext])})
    with pytest.raises(SourceError, match=message):
        movielens.load(folder)


def test_non_utf8_bytes_are_reported(tmp_path, recbole):
    folder = write_recbole(tmp_path, recbole)
    item = folder / "ml-100k.item"
    item.write_bytes(
        "".join(recbole["item"]).encode("latin-1")
    )  # "Misérables" on line 544 becomes 0xe9
    with pytest.raises(
        SourceError,
        match=r"ml-100k.item line 544: bytes that are not valid utf-8 \(byte 0xe9 at column 8\)",
    ):
        movielens.load(folder)


def test_missing_files_are_named(tmp_path, recbole):
    with pytest.raises(
        SourceError,
        match=r"expected ml-100k.inter and ml-100k.item \(RecBole atomic files\) "
        r"or u.data and u.item \(GroupLens\)",
    ):
        movielens.load(tmp_path)
    with pytest.raises(SourceError, match=r"movielens-100k: expected ml-100k.item in"):
        movielens.load(write_recbole(tmp_path / "r", recbole, skip=("item",)))
    gl = write_grouplens(tmp_path / "g", recbole)
    (gl / "u.item").unlink()
    with pytest.raises(SourceError, match=r"movielens-100k: expected u.item in"):
        movielens.load(gl)
    with pytest.raises(SourceError, match=r"does not exist"):
        movielens.load(tmp_path / "nowhere")


def test_grouplens_bad_input(tmp_path, recbole):
    gl = write_grouplens(tmp_path, recbole)
    good = (gl / "u.item").read_bytes()
    (gl / "u.item").write_bytes(good.replace(b"|", b"\t"))
    with pytest.raises(
        SourceError,
        match=r"u.item line 1: expected 24 fields .* separated by '\|', found 1; "
        r"the line looks separated by '\\t'",
    ):
        movielens.load(gl)
    (gl / "u.item").write_bytes(good.replace(b"01-Jan-1995", b"Jan 1995", 1))
    with pytest.raises(
        SourceError, match=r"u.item line 1: column release_date: 'Jan 1995' is not a date like"
    ):
        movielens.load(gl)
    (gl / "u.item").write_bytes(good.replace(b"|0|0|0|1|1|1|", b"|0|0|0|1|x|1|", 1))
    with pytest.raises(
        SourceError, match=r"u.item line 1: column Children's: 'x' is not one of 0, 1"
    ):
        movielens.load(gl)


def test_skip_mode_counts_unparseable_rows(tmp_path, recbole):
    bad = ["196\t242\tthree\t881250949\n", "196\t9999\t3\t881250949\n", "1\t2\n"]
    inter = recbole["inter"][:20] + bad + recbole["inter"][20:]
    shop = movielens.load(write_recbole(tmp_path, {**recbole, "inter": inter}), on_bad_rows="skip")
    assert len(shop.events) == len(recbole["inter"]) - 1
    assert shop.meta["bad_rows"]["total"] == 3 and shop.meta["bad_rows"]["per_file"] == {
        "ml-100k.inter": 3
    }
    examples = shop.meta["bad_rows"]["examples"]["ml-100k.inter"]
    assert "line 21: column rating: 'three' is not a number" in examples
    assert "line 22: column item_id: '9999' is not in the item file" in examples


def test_folder_with_several_interaction_files_is_ambiguous(tmp_path, recbole):
    folder = write_recbole(tmp_path, recbole)
    shutil.copy(folder / "ml-100k.inter", folder / "ml-1m.inter")
    with pytest.raises(SourceError, match=r"several RecBole interaction files"):
        movielens.load(folder)
    assert len(movielens.load(folder / "ml-100k.inter").events) == len(recbole["inter"]) - 1
