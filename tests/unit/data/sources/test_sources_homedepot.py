"""Home Depot search relevance loader on the real sample, and on broken copies of it."""

import io
import zipfile

import pandas as pd
import pytest

from shopintent.data.sources import homedepot
from shopintent.data.sources.reading import SourceError
from shopintent.data.store import ShopData

SAMPLE = "homedepot-search-relevance"


@pytest.fixture(scope="module")
def shop(shared_data):
    return homedepot.load(shared_data / SAMPLE)


@pytest.fixture
def lines(shared_data):
    """The first 40 lines of train.csv (header included), decoded as latin-1."""
    with zipfile.ZipFile(shared_data / SAMPLE / "train.csv.zip") as zf:
        text = zf.read("train.csv").decode("latin-1")
    return io.StringIO(text).readlines()[:40]


def write(path, lines):
    path.write_bytes("".join(lines).encode("latin-1"))
    return path


def test_real_sample_counts(shop):
    # Matches the data README: 74,067 pairs, 11,795 distinct queries, 54,667 products.
    assert shop.row_counts() == {
        "events": 0,
        "items": 54667,
        "queries": 11795,
        "reviews": 0,
        "relevance": 74067,
    }
    rel = shop.extras["relevance"]
    assert rel["relevance"].between(1, 3).all() and (rel["relevance"] == 3).sum() == 19125
    assert shop.queries["text"].is_unique and shop.queries["intent"].isna().all()
    assert shop.meta["has_behaviour"] is False and shop.meta["bad_rows"]["total"] == 0
    assert shop.meta["items_with_several_titles"] == 15


def test_real_sample_spot_values(shop):
    # train.csv lines 2-3: 2,100001,"Simpson Strong-Tie 12-Gauge Angle","angle bracket",3
    #                      3,...,"l bracket",2.5
    q = shop.queries.set_index("query_id")["text"]
    assert q["q1"] == "angle bracket" and q["q2"] == "l bracket" and q["q3"] == "deck over"
    rel = shop.extras["relevance"]
    assert rel.iloc[:2].to_dict("list") == {
        "judgement_id": ["2", "3"],
        "query_id": ["q1", "q2"],
        "item_id": ["100001", "100001"],
        "relevance": [3.0, 2.5],
    }
    titles = shop.items.set_index("item_id")["title"]
    assert titles["100001"] == "Simpson Strong-Tie 12-Gauge Angle"
    # line 325 (id 1060): latin-1 decoding keeps the publisher's mojibake byte for byte
    assert titles["100179"].startswith("Paslode 3 in. x 0.120-Gauge 30å¡ Galvanized")
    # "metal sheet" is judged against 16 products
    qid = shop.queries.loc[shop.queries["text"] == "metal sheet", "query_id"].item()
    assert (rel["query_id"] == qid).sum() == 16
    assert (
        shop.items["brand"].isna().all() and shop.items["price"].isna().all()
    )  # not in the source


def test_no_behaviour_is_invented(shop):
    # no users, sessions or times in the source: the events table is empty, not placeholders
    assert len(shop.events) == 0 and shop.meta["has_behaviour"] is False


def test_round_trip(shop, tmp_path):
    back = ShopData.load(shop.save(tmp_path / "homedepot"))
    for name, df in shop.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], df, check_dtype=False)
    assert back.meta["has_behaviour"] is False and back.meta["extras"] == ["relevance"]


def test_zip_and_plain_csv_give_the_same_tables(tmp_path, lines):
    plain = homedepot.load(write(tmp_path / "train.csv", lines))
    with zipfile.ZipFile(tmp_path / "train.csv.zip", "w") as zf:
        zf.writestr("train.csv", "".join(lines).encode("latin-1"))
    zipped = homedepot.load(tmp_path / "train.csv.zip")
    assert len(plain.extras["relevance"]) == 39
    pd.testing.assert_frame_equal(plain.extras["relevance"], zipped.extras["relevance"])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda ls: ls[:30] + [ls[30].rsplit(",", 1)[0] + "\n"],
            r"train.csv line 31: column relevance: '' is not a number",
        ),
        (
            lambda ls: ls[:30] + [ls[30][:30]],
            r"train.csv line 31: a quoted field never ends \(truncated file\?\)",
        ),
        (
            lambda ls: [x.replace(",", ";") for x in ls],
            r"train.csv line 1: missing column\(s\) id, product_uid, .*"
            r"the header looks separated by ';', expected ','",
        ),
        (
            lambda ls: [x.rsplit(",", 1)[0] + "\n" for x in ls],
            r"train.csv line 1: missing column\(s\) relevance",
        ),
        (
            lambda ls: ls[:5] + ['99,100001,"A title","a query",high\n'] + ls[5:],
            r"train.csv line 6: column relevance: 'high' is not a number",
        ),
        (
            lambda ls: ls[:5] + ['99,100001,"A title","a query",4\n'] + ls[5:],
            r"train.csv line 6: column relevance: 4.0 is outside 1..3",
        ),
        (
            lambda ls: ls[:7] + ['99,100001,"A title","",3\n'] + ls[7:],
            r"train.csv line 8: column search_term: '' is not a non-empty value",
        ),
        (lambda ls: [], r"the file is empty"),
    ],
)
def test_bad_input_names_file_line_and_column(tmp_path, lines, mutate, message):
    path = write(tmp_path / "train.csv", mutate(lines))
    with pytest.raises(SourceError, match=message):
        homedepot.load(path)


def test_every_byte_decodes_as_latin1(tmp_path, lines):
    """latin-1 maps all 256 byte values, so no byte is undecodable: they are read as they are."""
    odd = bytes(range(0x80, 0x100))
    path = tmp_path / "train.csv"
    path.write_bytes(
        "".join(lines[:10]).encode("latin-1") + b'99,555555,"A ' + odd + b'","a query",3\n'
    )
    titles = homedepot.load(path).items.set_index("item_id")["title"]
    assert titles["555555"] == "A " + odd.decode("latin-1")


def test_truncated_or_odd_zip_is_reported(tmp_path, lines):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train.csv", "".join(lines))
    (tmp_path / "train.csv.zip").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(SourceError, match=r"train.csv.zip: truncated or corrupt file"):
        homedepot.load(tmp_path)
    with zipfile.ZipFile(tmp_path / "train.csv.zip", "w") as zf:
        zf.writestr("train.csv", "".join(lines))
        zf.writestr("test.csv", "".join(lines))
    with pytest.raises(SourceError, match=r"expected one file in the zip archive, found 2"):
        homedepot.load(tmp_path)


def test_missing_file_names_the_expected_file(tmp_path):
    with pytest.raises(
        SourceError, match=r"homedepot: expected train.csv or train.csv.zip or train.csv.gz in"
    ):
        homedepot.load(tmp_path)


def test_skip_mode_counts_unparseable_rows(tmp_path, lines):
    bad = [
        '98,100001,"A title","a query",high\n',
        '99,100001,"A title","",3\n',
        '97,100001,"A title","q",7\n',
    ]
    path = write(tmp_path / "train.csv", lines[:20] + bad + lines[20:])
    shop = homedepot.load(path, on_bad_rows="skip")
    assert len(shop.extras["relevance"]) == 39
    assert shop.meta["bad_rows"]["total"] == 3 and shop.meta["bad_rows"]["per_file"] == {
        "train.csv": 3
    }
    examples = shop.meta["bad_rows"]["examples"]["train.csv"]
    assert examples[0] == "line 22: column search_term: '' is not a non-empty value"
    assert any(e.startswith("line 21: column relevance: 'high'") for e in examples)
    assert any(e.startswith("line 23: column relevance: 7.0 is outside") for e in examples)
