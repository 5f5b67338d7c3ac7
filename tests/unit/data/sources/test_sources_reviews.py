"""The reviews layout: reviews with a column mapping, on the Amazon All_Beauty sample as a review
CSV without reviewer or time (texts with line breaks) and on small files built here."""

import gzip
import json

import pandas as pd
import pytest

from shopintent.data import registry
from shopintent.data.sources import reviews
from shopintent.data.sources.reading import SourceError

BEAUTY = "amazon-reviews-2018-all-beauty-5core/All_Beauty_5.json.gz"
HEADER = "id,body,stars,product,who,when\n"
ROWS = [
    "r1,Lovely soap,5,a,u1,2024-05-01\n",
    'r2,"Broke after a day,\nsent it back",1,b,u2,2024-05-02\n',  # a text over two lines
    "r3,Fine,3,a,u2,2024-05-03\n",
]
FULL = "review_id=id,text=body,rating=stars,item=product,user=who,time=when"


def write(tmp_path, lines, name="reviews.csv"):
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="module")
def beauty(shared_data, tmp_path_factory):
    """The first 1,000 reviews as a CSV of text, stars and product only."""
    with gzip.open(shared_data / BEAUTY, "rt") as f:
        rows = [json.loads(line) for _, line in zip(range(1000), f, strict=False)]
    df = pd.DataFrame(
        {
            "Review": [r.get("reviewText") for r in rows],
            "Stars": [r["overall"] for r in rows],
            "Product": [r["asin"] for r in rows],
        }
    )
    path = tmp_path_factory.mktemp("beauty") / "beauty.csv"
    df.to_csv(path, index=False)
    return df, path


def test_real_reviews_without_reviewer_or_time(beauty):
    df, path = beauty
    shop = reviews.load(path, columns="text=Review,rating=Stars,item=Product")
    rev = shop.reviews
    assert len(rev) == len(df) and rev["user_id"].isna().all() and rev["ts"].isna().all()
    assert rev["rating"].tolist() == df["Stars"].astype(int).tolist()
    # line breaks inside texts kept; a review with stars but no text has a null text
    assert rev["text"].fillna("").tolist() == df["Review"].fillna("").tolist()
    assert shop.meta["reviews_without_text"] == df["Review"].isna().sum() > 0
    assert len(shop.events) == 0 and shop.meta["review_events"] == 0  # no behaviour invented
    assert set(shop.items["item_id"]) == set(df["Product"])
    lines = shop.meta["bad_rows"]["lines_read"]["beauty.csv"]
    assert lines["records"] == 1000 and lines["continuation"] > 0
    # equal rows may be different people: counted, kept
    assert shop.meta["bad_rows"]["duplicates"]["beauty.csv"]["dropped"] is False


def test_reviews_with_user_item_and_time_give_one_interaction_each(tmp_path):
    shop = reviews.load(write(tmp_path, [HEADER, *ROWS]), columns=FULL)
    assert shop.reviews["review_id"].tolist() == ["r1", "r2", "r3"]
    assert shop.reviews["text"].iat[1] == "Broke after a day,\nsent it back"
    ev = shop.events
    assert ev["event_type"].tolist() == ["purchase"] * 3 and ev["session_id"].tolist() == [
        "r1",
        "r2",
        "r3",
    ]


@pytest.mark.parametrize("drop", ["review_id", "item", "user", "time"])
def test_an_optional_field_not_given_is_null(tmp_path, drop):
    mapping = ",".join(p for p in FULL.split(",") if not p.startswith(drop + "="))
    shop = reviews.load(write(tmp_path, [HEADER, *ROWS]), columns=mapping)
    rev = shop.reviews
    if drop == "review_id":  # <file stem>:<line where the review starts>
        assert rev["review_id"].tolist() == ["reviews:2", "reviews:3", "reviews:5"]
        return
    column = {"item": "item_id", "user": "user_id", "time": "ts"}[drop]
    assert rev[column].isna().all() and len(shop.events) == 0
    assert len(shop.items) == (0 if drop == "item" else 2)


def test_a_review_with_only_text_and_stars(tmp_path):
    shop = reviews.load(
        write(tmp_path, ["t,r\n", "ok,4.0\n", "bad,1\n"]), columns="text=t,rating=r"
    )
    assert shop.reviews["rating"].tolist() == [4, 1] and len(shop.items) == 0


@pytest.mark.parametrize(
    "row, message",
    [
        (
            "r9,Meh,7,a,u1,2024-05-01\n",
            r"line 2: column rating: 7(\.0)? is not a whole number of stars",
        ),
        ("r9,Meh,4.5,a,u1,2024-05-01\n", r"line 2: column rating: 4.5 is not a whole number"),
        ("r9,Meh,0,a,u1,2024-05-01\n", r"line 2: column rating: 0(\.0)? is not a whole number"),
        ("r9,Meh,,a,u1,2024-05-01\n", r"line 2: column rating: '' is not a number"),
        ("r9,Meh,3,a,u1,soon\n", r"line 2: column time: 'soon' is not a date-time"),
        ("r1,Other,3,a,u1,2024-05-01\n", r"line 3: column review_id: 'r1' repeats the key"),
    ],
)
def test_bad_reviews_name_file_line_and_column(tmp_path, row, message):
    path = write(tmp_path, [HEADER, row, *ROWS])
    with pytest.raises(SourceError, match="reviews.csv " + message):
        reviews.load(path, columns=FULL)
    shop = reviews.load(path, columns=FULL, on_bad_rows="skip")
    assert shop.meta["bad_rows"]["total"] == 1 and len(shop.reviews) == 3


def test_a_ten_point_scale_is_refused_with_the_reason(tmp_path):
    path = write(tmp_path, ["t,r\n", "ok,8\n", "bad,2\n"])
    with pytest.raises(SourceError, match=r"line 2: .*this layout does not rescale"):
        reviews.load(path, columns="text=t,rating=r")


def test_prepare_under_a_name_and_load_it_back(data_root, tmp_path):
    path = write(tmp_path, [HEADER, *ROWS])
    registry.prepare("reviews", source=path, save_as="x", columns="text=body,rating=stars")
    back = registry.load("x")
    assert len(back.events) == 0 and back.reviews["rating"].tolist() == [5, 1, 3]
    assert back.reviews[["user_id", "item_id", "ts"]].isna().all().all()
