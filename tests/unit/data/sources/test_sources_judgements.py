"""The judgements layout: search relevance judgements with a column mapping, on the Home Depot
sample under other column names, and on small files built here."""

import pandas as pd
import pytest

from shopintent.data import registry
from shopintent.data.sources import homedepot, judgements
from shopintent.data.sources.reading import SourceError

HOMEDEPOT = "homedepot-search-relevance/train.csv.zip"
RENAMED = "query=q,item=pid,title=name,grade=score,judgement_id=jid"
HEADER = "q\tproduct\tgrade\tabout\n"
ROWS = [
    "red mug\tRed Mug 300ml\t3\tA mug.\n",
    "red mug\tBlue Cup\t0\t\n",
    "cup\tBlue Cup\t2\tA cup.\n",
    "cup\tBlue Cup\t2\tA cup.\n",  # two raters agreeing: kept
]
SMALL = "query=q,title=product,grade=grade,description=about"


def write(tmp_path, lines, name="labels.tsv"):
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="module")
def renamed(shared_data, tmp_path_factory):
    """The first 3,000 Home Depot judgements, columns renamed, as TSV; and the original's copy."""
    df = pd.read_csv(shared_data / HOMEDEPOT, encoding="latin-1", dtype=str).head(3000)
    folder = tmp_path_factory.mktemp("hd")
    df.to_csv(folder / "train.csv", index=False, encoding="latin-1")
    cols = {"id": "jid", "product_uid": "pid", "product_title": "name", "search_term": "q"}
    df.rename(columns={**cols, "relevance": "score"}).to_csv(
        folder / "judged.tsv", sep="\t", index=False
    )
    return folder


def test_real_judgements_match_the_homedepot_tables(renamed):
    shop = judgements.load(renamed / "judged.tsv", columns=RENAMED)
    ref = homedepot.load(renamed / "train.csv")
    assert len(shop.events) == 0 and shop.meta["has_behaviour"] is False  # no events invented
    pd.testing.assert_frame_equal(shop.queries, ref.queries)
    pd.testing.assert_frame_equal(shop.extras["relevance"], ref.extras["relevance"])
    pd.testing.assert_frame_equal(shop.items[["item_id", "title"]], ref.items[["item_id", "title"]])
    assert shop.meta["items_with_several_titles"] == ref.meta["items_with_several_titles"]
    assert shop.meta["relevance_range"] == [1.0, 3.0]


def test_products_named_by_title_only(tmp_path):
    shop = judgements.load(write(tmp_path, [HEADER, *ROWS]), columns=SMALL)
    rel = shop.extras["relevance"]
    assert (
        rel["item_id"].tolist() == ["t1", "t2", "t2", "t2"]
        and shop.meta["item_ids_from"] == "titles"
    )
    assert rel["query_id"].tolist() == ["q1", "q1", "q2", "q2"]
    assert rel["judgement_id"].tolist() == ["labels:2", "labels:3", "labels:4", "labels:5"]
    items = shop.items.set_index("item_id")
    assert items.loc["t2", "title"] == "Blue Cup" and items.loc["t2", "description"] == "A cup."
    assert shop.meta["bad_rows"]["duplicates"]["labels.tsv"]["dropped"] is False
    assert len(shop.events) == 0 and len(shop.reviews) == 0


def test_description_not_given_is_null(tmp_path):
    shop = judgements.load(
        write(tmp_path, [HEADER, *ROWS]), columns="query=q,title=product,grade=grade"
    )
    assert shop.items["description"].isna().all()


@pytest.mark.parametrize(
    "columns, row, message",
    [
        (SMALL, "cup\tBlue Cup\t-1\t\n", r"labels.tsv line 2: column grade: -1(\.0)? is negative"),
        (SMALL, "cup\tBlue Cup\thigh\t\n", r"labels.tsv line 2: column grade: 'high' is not a n"),
        (SMALL, "\tBlue Cup\t1\t\n", r"labels.tsv line 2: column query: '' is not a non-empty"),
        (SMALL, "cup\t\t1\t\n", r"labels.tsv line 2: column title: '' is not a non-empty"),
        ("query=q,grade=grade", "cup\tx\t1\t\n", r"labels.tsv line 1: no column for the product"),
        (
            "query=q,title=product,grade=score",
            "cup\tx\t1\t\n",
            r"field grade is mapped to column .score., which the file lacks "
            r"\(columns found: q, product, grade, about\)",
        ),
    ],
)
def test_bad_judgements_name_file_line_and_column(tmp_path, columns, row, message):
    with pytest.raises(SourceError, match=message):
        judgements.load(write(tmp_path, [HEADER, row, *ROWS]), columns=columns)


def test_prepare_under_a_name_and_load_it_back(data_root, tmp_path):
    registry.prepare(
        "judgements", source=write(tmp_path, [HEADER, *ROWS]), save_as="x", columns=SMALL
    )
    back = registry.load("x")
    assert len(back.events) == 0 and len(back.extras["relevance"]) == 4 and len(back.queries) == 2
    with pytest.raises(ValueError, match="--time-format does not apply to judgements"):
        registry.prepare("judgements", source=tmp_path, save_as="y", time_format="iso")
