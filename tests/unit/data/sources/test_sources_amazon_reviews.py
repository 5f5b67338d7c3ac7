"""Amazon Review Data 2018 loader on the real All_Beauty 5-core sample, and broken copies of it."""

import gzip
import json

import pandas as pd
import pytest

from shopintent.data.sources import amazon_reviews
from shopintent.data.sources.reading import SourceError
from shopintent.data.store import ShopData

SAMPLE = "amazon-reviews-2018-all-beauty-5core/All_Beauty_5.json.gz"


@pytest.fixture(scope="module")
def shop(shared_data):
    return amazon_reviews.load(shared_data / SAMPLE)


@pytest.fixture
def lines(shared_data):
    with gzip.open(shared_data / SAMPLE, "rt", encoding="utf-8") as f:
        return [next(f) for _ in range(40)]


def write(path, lines):
    path.write_text("".join(lines), encoding="utf-8")
    return path


def review(**fields):
    base = {
        "overall": 4.0,
        "verified": True,
        "reviewerID": "U1",
        "asin": "B1",
        "summary": "Nice",
        "reviewText": "Works well",
        "unixReviewTime": 1472688000,
    }
    return json.dumps({k: v for k, v in {**base, **fields}.items() if v is not ...}) + "\n"


def test_real_sample_counts(shop):
    # The data README's 5,269 is the number of lines; 1,050 of them repeat another review verbatim
    # (same reviewer, product, day, summary and text), so 4,219 distinct reviews remain.
    assert shop.row_counts() == {"events": 4219, "items": 85, "queries": 0, "reviews": 4219}
    assert shop.meta["duplicates_dropped"] == 1050 and shop.meta["bad_rows"]["total"] == 0
    # one reviewer's text attached to sibling products: distinct reviews, reported not dropped
    assert (shop.meta["distinct_texts"], shop.meta["texts_shared_across_items"]) == (1363, 3807)
    assert shop.meta["notes"] == [
        "reviews: 4,219 with 1,363 distinct texts; 3,807 share their text with another item "
        "(kept: split reviews grouped by text)"
    ]
    rv, ev = shop.reviews, shop.events
    assert rv["user_id"].nunique() == 991
    assert rv["rating"].value_counts().to_dict() == {5: 3713, 4: 272, 1: 92, 3: 90, 2: 52}
    assert rv["sentiment"].isna().all()  # the source has no sentiment label
    assert (ev["event_type"] == "purchase").all() and ev["verified"].value_counts().to_dict() == {
        True: 3423,
        False: 796,
    }
    assert ev["session_id"].is_unique and set(ev["session_id"]) == set(rv["review_id"])
    assert (
        shop.items["title"].isna().all() and shop.items["category"].isna().all()
    )  # 5-core files carry no metadata


def test_real_sample_spot_values(shop):
    rv = shop.reviews.set_index("review_id")
    # line 1: {"overall": 5.0, "verified": true, "reviewerID": "A3CIUOJXQ5VDQ2",
    #          "asin": "B0000530HU", "style": {"Size:": " 7.0 oz", "Flavor:": " Classic Ice Blue"},
    #          "reviewText": "As advertised. Reasonably priced", "summary": "Five Stars",
    #          "unixReviewTime": 1472688000, ...}
    first = rv.loc["All_Beauty_5:1"]
    assert (first["user_id"], first["item_id"], first["rating"]) == (
        "A3CIUOJXQ5VDQ2",
        "B0000530HU",
        5,
    )
    assert first["ts"] == pd.Timestamp("2016-09-01", tz="UTC")
    assert first["text"] == "Five Stars. As advertised. Reasonably priced"
    assert json.loads(first["style"]) == {"Size:": " 7.0 oz", "Flavor:": " Classic Ice Blue"}
    # line 360 has no reviewText, line 367 no summary
    assert rv.loc["All_Beauty_5:360", "text"] == "Five Stars"
    assert rv.loc["All_Beauty_5:367", "text"].startswith("I love the clean smell conditions")
    # lines 2898 and 3888 are the same review ("yum", A105A034ZG9EHO on B0012Y0ZG2):
    # the first is kept
    assert rv.loc["All_Beauty_5:2898", "text"] == "Five Stars. yum"
    assert "All_Beauty_5:3888" not in rv.index


def test_round_trip(shop, tmp_path):
    back = ShopData.load(shop.save(tmp_path / "amazon"))
    for name, df in shop.tables().items():
        pd.testing.assert_frame_equal(back.tables()[name], df, check_dtype=False)


def test_duplicates_are_dropped_and_counted(tmp_path):
    path = write(
        tmp_path / "Beauty_5.json",
        [
            review(style={"Size:": " 1"}),
            review(
                style={"Size:": " 2"}, verified=False
            ),  # the same review attached to another variant
            review(unixReviewTime=1472774400),  # a day later: another review
            review(reviewText="Works very well"),  # other text: another review
        ],
    )
    shop = amazon_reviews.load(path)
    assert shop.reviews["review_id"].tolist() == ["Beauty_5:1", "Beauty_5:3", "Beauty_5:4"]
    assert shop.meta["duplicates_dropped"] == 1
    assert (
        json.loads(shop.reviews["style"].iloc[0]) == {"Size:": " 1"}
        and shop.events["verified"].all()
    )


def test_texts_shared_across_items_are_counted_not_dropped(tmp_path):
    path = write(
        tmp_path / "Beauty_5.json",
        [
            review(),
            review(asin="B0SIBLING1", reviewText="Works  WELL"),  # the same text, another item
            review(unixReviewTime=1472774400),  # the same text on the same item: not shared
            review(reviewText="Other text"),
        ],
    )
    shop = amazon_reviews.load(path)
    assert len(shop.reviews) == 4 and shop.meta["duplicates_dropped"] == 0
    assert (shop.meta["distinct_texts"], shop.meta["texts_shared_across_items"]) == (2, 3)


def test_text_and_optional_keys(tmp_path):
    path = write(
        tmp_path / "x.json",
        [
            review(summary=...),
            review(reviewerID="U2", reviewText=...),
            review(reviewerID="U3", summary=..., reviewText=..., verified=..., style=...),
        ],
    )
    shop = amazon_reviews.load(path)
    assert shop.reviews["text"].tolist()[:2] == ["Works well", "Nice"] and pd.isna(
        shop.reviews["text"].iloc[2]
    )
    assert shop.reviews["style"].isna().all()
    assert shop.events.set_index("user_id")["verified"].tolist()[:2] == [True, True]
    assert pd.isna(shop.events.set_index("user_id").loc["U3", "verified"])
    shop.save(tmp_path / "out")  # a null in the verified column survives Parquet
    assert pd.isna(
        ShopData.load(tmp_path / "out").events.set_index("user_id").loc["U3", "verified"]
    )


def test_folder_of_category_files(tmp_path, lines):
    write(tmp_path / "All_Beauty_5.json", lines[:10])
    with gzip.open(tmp_path / "Other_5.json.gz", "wt") as f:
        f.write(review())
    shop = amazon_reviews.load(tmp_path)
    assert len(shop.reviews) == 11 and shop.reviews["review_id"].iloc[-1] == "Other_5:1"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ls: ls[:30] + [ls[30][:50]], r"x.json line 31: not valid JSON"),
        (lambda ls: ls[:5] + [review(asin=...)] + ls[5:], r"x.json line 6: missing key\(s\) asin"),
        (lambda ls: ls[:5] + ["[1, 2]\n"] + ls[5:], r"x.json line 6: not a JSON object"),
        (
            lambda ls: ls[:7] + [review(overall="five")] + ls[7:],
            r"x.json line 8: column overall: 'five' is not an integer",
        ),
        (
            lambda ls: ls[:7] + [review(overall=7)] + ls[7:],
            r"x.json line 8: column overall: 7.0 is outside 1..5",
        ),
        (
            lambda ls: ls[:7] + [review(overall=4.5)] + ls[7:],
            r"x.json line 8: column overall: 4.5 is not an integer",
        ),
        (
            lambda ls: ls[:7] + [review(unixReviewTime="yesterday")] + ls[7:],
            r"x.json line 8: column unixReviewTime: 'yesterday' is not unix seconds",
        ),
        (
            lambda ls: ls[:7] + [review(reviewerID="")] + ls[7:],
            r"x.json line 8: column reviewerID: '' is not a non-empty",
        ),
        (
            lambda ls: ls[:7] + [review(verified="yes")] + ls[7:],
            r"x.json line 8: column verified: 'yes' is not true or false",
        ),
        (
            lambda ls: ls[:7] + [review(style="big")] + ls[7:],
            r"x.json line 8: column style: 'big' is not a JSON object",
        ),
        (lambda ls: [], r"x.json: no records"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, lines, mutate, message):
    path = write(tmp_path / "x.json", mutate(lines))
    with pytest.raises(SourceError, match=message):
        amazon_reviews.load(path)


def test_non_utf8_bytes_are_reported(tmp_path, lines):
    path = tmp_path / "x.json"
    path.write_bytes(
        "".join(lines[:12]).encode() + review(summary="caf@").encode().replace(b"@", b"\xe9")
    )
    with pytest.raises(
        SourceError,
        match=r"x.json line 13: bytes that are not valid utf-8 \(byte 0xe9 at column \d+\)",
    ):
        amazon_reviews.load(path)


def test_truncated_gzip_is_reported(tmp_path, lines):
    data = gzip.compress("".join(lines).encode())
    (tmp_path / "x.json.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"x.json.gz: truncated or corrupt file"):
        amazon_reviews.load(tmp_path / "x.json.gz")


def test_missing_file(tmp_path):
    with pytest.raises(
        SourceError, match=r"amazon-reviews: no file matching \*.json, \*.json.gz in"
    ):
        amazon_reviews.load(tmp_path)
    with pytest.raises(SourceError, match=r"does not exist"):
        amazon_reviews.load(tmp_path / "nope.json.gz")


def test_skip_mode_counts_unparseable_rows(tmp_path, lines):
    bad = [
        "{not json\n",
        review(asin=...),
        review(overall="five"),
        review(overall=0, verified="yes"),
    ]
    path = write(tmp_path / "x.json", lines[:20] + bad + lines[20:])
    shop = amazon_reviews.load(path, on_bad_rows="skip")
    assert len(shop.reviews) == 40 and shop.meta["duplicates_dropped"] == 0
    assert shop.meta["bad_rows"]["total"] == 4 and shop.meta["bad_rows"]["per_file"] == {
        "x.json": 4
    }
    examples = shop.meta["bad_rows"]["examples"]["x.json"]
    assert (
        examples[0].startswith("line 21: not valid JSON")
        and examples[1] == "line 22: missing key(s) asin"
    )
    assert "line 23: column overall: 'five' is not an integer" in examples
    assert "line 24: column overall: 0.0 is outside 1..5" in examples
