"""The ``reviews`` layout: product reviews of your own, one row per review, columns named by a
mapping (see ``layouts``: CSV, TSV or Parquet, ``--columns``, ``--time-format``...).

Fields: ``text`` and ``rating`` required; ``item``, ``user``, ``time``, ``review_id``
optional. Example (reviews with neither reviewer nor date)::

    shopintent data prepare --dataset reviews --source reviews.csv --name myreviews \\
        --columns text=reviewText,rating=overall,item=asin

Decisions:

- Reviews: one per row. ``review_id`` = the source's id when mapped (an id on two different
  rows is a bad row), else ``<file stem>:<line>``; ``text``, ``rating``; ``item_id``,
  ``user_id`` and ``ts`` are null where not given. ``sentiment`` is null (the stars are a
  separate signal and are not copied into it).
- Ratings are stars: whole numbers 1 to 5 (``4`` and ``4.0`` both read as 4). Anything else
  is a bad row naming file, line and value; this layout does not rescale, so ratings on
  another scale (0-10, 0-100, thumbs) fail on their first row out of 1..5: convert them to
  1-5 stars before loading, or keep them out with ``--on-bad-rows skip`` (every row dropped is
  counted). The text column is required, but a review with stars and an empty text is a review
  (null text; ``meta["reviews_without_text"]`` counts them).
- Duplicates: with both user and time given, rows equal in user, item, time, text and rating
  are one review posted twice: the copies are dropped and counted in
  ``meta["bad_rows"]["duplicates"]``. Without them, equal rows may be different people writing
  "Great!" with 5 stars: counted and kept.
- Events: none are invented. A review with a user, an item and a time is an observed
  interaction: it gives one ``purchase`` event (``session_id`` = ``review_id``), as the
  ``amazon-reviews`` loader does, so recommenders can use it; ``meta["review_events"]`` counts
  them. Reviews lacking any of the three give none, so reviews without users or items leave
  the events table empty.
- Items: every item reviewed; titles, brands, categories and prices are not in a review
  file: null.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.sources import layouts
from shopintent.data.sources.checks import duplicates, reject_rows
from shopintent.data.sources.reading import BadRows
from shopintent.data.store import ShopData

LAYOUT = "reviews"
FIELDS = {"text": True, "rating": True, "item": False, "user": False, "time": False}
FIELDS["review_id"] = False
SPEC = {"text": "str?", "rating": "float", "item": "id?", "user": "id?", "review_id": "id"}
STARS = (1, 5)
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = layouts.OPTIONS


def load(
    source: Path,
    on_bad_rows: str = "error",
    columns=None,
    sep: str | None = None,
    encoding: str | None = None,
    na_values: str | None = None,
    time_format: str | None = None,
) -> ShopData:
    spec = {**SPEC, "time": layouts.time_kind(time_format, optional=True)}

    def convert(path: Path, rows: pd.DataFrame, mapping: dict, bad: BadRows) -> pd.DataFrame:
        r = rows["rating"]
        lo, hi = STARS
        off = ~((r == np.floor(r)) & r.between(lo, hi)).to_numpy()
        what = (
            f"is not a whole number of stars in {lo}..{hi} (this layout does not rescale: "
            "convert other scales to 1-5 stars first)"
        )
        rows = reject_rows(rows, path, off, "rating", what, on_bad_rows, bad)
        identified = "user" in mapping and "time" in mapping
        key = ["review_id"] if "review_id" in mapping else None
        rows = duplicates(
            rows,
            path,
            bad,
            key=key,
            drop=identified or key is not None,
            on_bad_rows=on_bad_rows,
            probe=["text"],
        )
        if "review_id" not in mapping:
            rows["review_id"] = path.name.split(".")[0] + ":" + rows["_line"].astype(str)
        return rows

    read = layouts.read_all(
        source,
        LAYOUT,
        FIELDS,
        spec,
        convert,
        columns=columns,
        sep=sep,
        encoding=encoding,
        na_values=na_values,
        on_bad_rows=on_bad_rows,
        multiline=True,  # review texts hold line breaks
    )
    raw = read.rows

    reviews = pd.DataFrame(
        {
            "review_id": raw["review_id"],
            "user_id": raw["user"],
            "item_id": raw["item"],
            "ts": raw["time"],
            "rating": raw["rating"].astype("int64"),
            "text": raw["text"],
            "sentiment": None,
        }
    )
    seen = raw[["user", "item", "time"]].notna().all(axis=1)
    r = raw[seen]
    events = pd.DataFrame(
        {
            "user_id": r["user"],
            "session_id": r["review_id"],
            "ts": r["time"],
            "event_type": "purchase",
            "item_id": r["item"],
        }
    ).sort_values(["ts", "session_id"], kind="stable")
    items = pd.DataFrame({"item_id": raw["item"].dropna().drop_duplicates().to_numpy(object)})
    meta = {
        **read.meta(),
        "review_events": len(events),
        "reviews_without_text": int(raw["text"].isna().sum()),
        "events_from": "one purchase per review with a user, an item and a time",
    }
    return ShopData.from_tables(events, items, reviews=reviews, meta=meta)
