"""The ``judgements`` layout: search relevance judgements of your own, one row per (query, product)
judgement, columns named by a mapping (see ``layouts``: CSV, TSV or Parquet, ``--columns``...).

Fields: ``query`` and ``grade`` required, and the product as ``item`` (its id), ``title``, or
both; ``description`` and ``judgement_id`` optional. Example::

    shopintent data prepare --dataset judgements --source labels.tsv --name mysearch \\
        --columns query=query,item=product_id,title=product_title,grade=esci_grade

The tables are those of the ``homedepot`` loader, with the same column names, so code that
reads its ``relevance`` table works unchanged:

- ``queries``: one per distinct query text (compared exactly), ``query_id`` ``q1``, ``q2``...
  in order of first appearance. ``intent`` and ``entities`` null.
- ``items``: one per product: ``item_id`` = the source's product id; without one, one per
  distinct title, with ids ``t1``, ``t2``... in order of first appearance
  (``meta["item_ids_from"]`` says which). ``title`` and ``description`` are the first non-empty
  ones seen for the product (``meta["items_with_several_titles"]`` counts the others); brand,
  category and price null.
- extra table ``relevance``: ``judgement_id`` (the source's id, else ``<file stem>:<line>``),
  ``query_id``, ``item_id``, ``relevance`` (the grade, float).
- ``events``: EMPTY. Judgements are not behaviour: no search, user, session or time is made
  up (``meta["has_behaviour"]`` is False). ``reviews``: empty.

Grades: any finite number >= 0 on the source's own scale (Home Depot 1-3, ESCI-style 0-3,
binary 0/1), recorded in ``meta["relevance_range"]``; ranking metrics use them as gains. A
negative or non-numeric grade, an empty query and a product with neither id nor title are bad
rows. With ``judgement_id`` an exact repeated line is dropped (counted) and one id on two
different lines is a bad row; without it equal lines are counted and kept (raters agreeing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.sources import layouts
from shopintent.data.sources.checks import check_range, duplicates
from shopintent.data.sources.reading import BadRows, SourceError
from shopintent.data.store import ShopData

LAYOUT = "judgements"
FIELDS = {
    "query": True,
    "grade": True,
    "item": False,
    "title": False,
    "description": False,
    "judgement_id": False,
}
SPEC = {
    "query": "str",
    "grade": "float",
    "item": "id",
    "title": "str?",
    "description": "str?",
    "judgement_id": "id",
}
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = tuple(o for o in layouts.OPTIONS if o != "time_format")  # judgements have no time


def load(
    source: Path,
    on_bad_rows: str = "error",
    columns=None,
    sep: str | None = None,
    encoding: str | None = None,
    na_values: str | None = None,
) -> ShopData:
    by_id = None
    mapped = layouts.parse_mapping(columns)
    spec = dict(SPEC)
    if "item" not in mapped and "title" in mapped:
        spec["title"] = "str"  # the title is then the product

    def convert(path: Path, rows: pd.DataFrame, mapping: dict, bad: BadRows) -> pd.DataFrame:
        nonlocal by_id
        if "item" not in mapping and "title" not in mapping:
            raise SourceError(
                f"{path} line 1: no column for the product: map item (its id), title or both "
                f"with --columns (mapped: {', '.join(f'{k}={v}' for k, v in mapping.items())})"
            )
        if by_id is None:
            by_id = "item" in mapping
        elif by_id != ("item" in mapping):
            raise SourceError(f"{path}: products are named by id in some files, by title in others")
        rows = check_range(rows, path, "grade", 0, None, on_bad_rows, bad)
        if "judgement_id" in mapping:
            rows = duplicates(rows, path, bad, key=["judgement_id"], on_bad_rows=on_bad_rows)
        else:
            rows = duplicates(rows, path, bad, drop=False, probe=["query"])
            rows["judgement_id"] = path.name.split(".")[0] + ":" + rows["_line"].astype(str)
        return rows

    read = layouts.read_all(
        source,
        LAYOUT,
        FIELDS,
        spec,
        convert,
        columns=mapped,
        sep=sep,
        encoding=encoding,
        na_values=na_values,
        on_bad_rows=on_bad_rows,
        multiline=True,  # titles and descriptions may hold line breaks
    )
    raw = read.rows
    if not by_id:
        codes, _ = pd.factorize(raw["title"])
        raw["item"] = "t" + pd.Series(codes + 1).astype(str)

    codes, terms = pd.factorize(raw["query"])  # in order of first appearance
    query_ids = pd.Index("q" + pd.Series(np.arange(1, len(terms) + 1)).astype(str))
    queries = pd.DataFrame({"query_id": query_ids, "text": terms.astype(str)})
    relevance = pd.DataFrame(
        {
            "judgement_id": raw["judgement_id"].astype(str),
            "query_id": query_ids[codes],
            "item_id": raw["item"].astype(str),
            "relevance": raw["grade"].astype("float64"),
        }
    )
    title, several = layouts.first_seen(raw, "item", "title")
    description, _ = layouts.first_seen(raw, "item", "description")
    item_ids = pd.Index(raw["item"].unique())
    items = pd.DataFrame(
        {
            "item_id": item_ids,
            "title": title.reindex(item_ids).to_numpy(object),
            "description": description.reindex(item_ids).to_numpy(object),
        }
    )
    items = items.astype(object).where(items.notna(), None)
    meta = {
        **read.meta(),
        "has_behaviour": False,
        "item_ids_from": "ids" if by_id else "titles",
        "items_with_several_titles": several,
        "judgements": len(relevance),
        "relevance_range": [float(raw["grade"].min()), float(raw["grade"].max())],
    }
    return ShopData.from_tables(
        items=items, queries=queries, extras={"relevance": relevance}, meta=meta
    )
