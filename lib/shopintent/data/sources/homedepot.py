"""Kaggle "Home Depot Product Search Relevance", the train set.

Source format: ``train.csv`` (or ``train.csv.zip`` / ``train.csv.gz`` as downloaded), comma
separated with a header, quoted text, encoded latin-1 (the file is not valid UTF-8; latin-1
decodes every byte, so a byte-level decoding error cannot occur, although a few titles keep
the mojibake the publisher shipped, e.g. ``30å¡``)::

    id,product_uid,product_title,search_term,relevance

One line is one human judgement of how relevant a product is to a search term (relevance
1-3, the mean of several raters, so values like 2.33 occur).

Decisions:

* ``queries``: one row per distinct ``search_term``, compared exactly (no case folding or
  trimming), with ``query_id`` ``q1``, ``q2``, ... in order of first appearance in the file,
  so ids are stable for a given file. ``intent`` and ``entities`` are not in the source: null.
* ``items``: one row per ``product_uid`` with ``title`` = ``product_title``. A handful of
  products appear with two different titles (the sample: 15); the title of the first line
  that mentions the product is kept and the count is in ``meta["items_with_several_titles"]``.
  Brand, category, price, attributes and description are not in this file: null.
* extra table ``relevance``: one row per judgement line, ``judgement_id`` (the source's
  ``id``), ``query_id``, ``item_id``, ``relevance`` (float). This is the ground truth for
  ranking metrics (nDCG).
* ``events``: the source has NO behaviour log (no users, sessions, views or time), so the
  events table is empty (nothing is invented; ``meta["has_behaviour"]`` is False). The queries
  and their judgements are what it serves.
* ``reviews``: none in this source (empty table).
* A judgement line repeated exactly is dropped (counted in ``meta["bad_rows"]["duplicates"]``);
  one ``id`` with two different lines is a bad row.

Bad input (missing file, wrong separator, missing column, truncated archive, empty ids or
search terms, relevance that is not a number in 1-3) fails naming the file, line and column,
or with ``on_bad_rows="skip"`` is dropped and counted in ``meta["bad_rows"]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.sources.checks import duplicates, parse, reject_rows
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    read_csv,
    source_file,
)
from shopintent.data.store import ShopData

DATASET = "homedepot"
FILES = ("train.csv", "train.csv.zip", "train.csv.gz")
COLUMNS = ["id", "product_uid", "product_title", "search_term", "relevance"]
ENCODING = "latin-1"
RELEVANCE_RANGE = (1.0, 3.0)
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = ("on_bad_rows",)


def load(source: Path, on_bad_rows: str = "error") -> ShopData:
    check_on_bad_rows(on_bad_rows)
    bad = BadRows()
    path = source_file(source, DATASET, FILES)
    raw = read_csv(path, COLUMNS, encoding=ENCODING, on_bad_rows=on_bad_rows, bad=bad)
    raw = parse(
        raw,
        path,
        {
            "id": "id",
            "product_uid": "id",
            "product_title": "str?",
            "search_term": "str",
            "relevance": "float",
        },
        on_bad_rows=on_bad_rows,
        bad=bad,
    )
    lo, hi = RELEVANCE_RANGE
    raw = reject_rows(
        raw,
        path,
        ~raw["relevance"].between(lo, hi).to_numpy(),
        "relevance",
        f"is outside {lo:g}..{hi:g}",
        on_bad_rows,
        bad,
    )
    # a judgement id names one judgement: an exact repeat is dropped (counted), another is a bad row
    raw = duplicates(raw, path, bad, key=["id"], on_bad_rows=on_bad_rows)
    if raw.empty:
        raise SourceError(f"{path}: no usable judgement lines")

    codes, terms = pd.factorize(raw["search_term"])  # in order of first appearance
    query_ids = pd.Index("q" + pd.Series(np.arange(1, len(terms) + 1)).astype(str))
    queries = pd.DataFrame({"query_id": query_ids, "text": terms.astype(str)})
    relevance = pd.DataFrame(
        {
            "judgement_id": raw["id"].astype(str),
            "query_id": query_ids[codes],
            "item_id": raw["product_uid"].astype(str),
            "relevance": raw["relevance"].astype("float64"),
        }
    )
    items = raw.drop_duplicates("product_uid").rename(
        columns={"product_uid": "item_id", "product_title": "title"}
    )[["item_id", "title"]]
    several = int((raw.groupby("product_uid")["product_title"].nunique() > 1).sum())
    meta = {
        "dataset": DATASET,
        "bad_rows": bad.as_meta(),
        "has_behaviour": False,
        "items_with_several_titles": several,
        "judgements": len(relevance),
    }
    return ShopData.from_tables(None, items, queries, extras={"relevance": relevance}, meta=meta)
