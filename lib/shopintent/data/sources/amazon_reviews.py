"""Amazon Review Data 2018 (Ni, Li, McAuley), per-category review files.

One file per category, e.g. ``All_Beauty_5.json.gz``.

Source format: JSON lines (``*.json`` or ``*.json.gz``; ``source`` is one file or a folder
of them, read in name order), one review object a line, UTF-8::

    {"overall": 5.0, "verified": true, "reviewTime": "09 1, 2016", "reviewerID": "A3CIUOJXQ5VDQ2",
     "asin": "B0000530HU", "style": {"Size:": " 7.0 oz"}, "reviewerName": "Shelly F",
     "reviewText": "...", "summary": "Five Stars", "unixReviewTime": 1472688000, "vote": "2",
     "image": [...]}

Every object must carry ``reviewerID``, ``asin``, ``overall`` and ``unixReviewTime``;
``summary``, ``reviewText``, ``verified`` and ``style`` are optional (some reviews lack them).

Decisions:

* ``reviews``: one row per review. ``review_id`` is ``<file stem>:<line>`` (e.g.
  ``All_Beauty_5:1``), deterministic and traceable to the raw line (the source has no review
  id, and user, item and day do not identify a review). ``user_id`` = ``reviewerID``,
  ``item_id`` = ``asin``, ``ts`` = ``unixReviewTime`` (unix seconds; the publisher rounds it
  to the day), ``rating`` = ``overall`` as an int (1-5; anything else is a bad row).
  ``text`` = ``summary + ". " + reviewText``; when one of them is missing the other alone,
  when both are missing null. ``sentiment`` is null: the source has no sentiment label (the
  star rating is a separate signal and is not copied into it). ``style`` (the variant the
  reviewer bought, e.g. size or colour) is kept as an extra column holding the JSON text of
  the object (null when absent). ``reviewerName``, ``reviewTime`` (a duplicate of
  ``unixReviewTime``), ``vote`` and ``image`` are not kept.
* Duplicates: the 2018 release repeats some reviews verbatim (the same review attached to
  several variants of a product). Reviews with the same ``reviewerID``, ``asin``,
  ``unixReviewTime``, ``summary`` and ``reviewText`` are one review: the first line is kept
  (even when the copies differ in ``style``, ``verified`` or ``vote``) and the number of
  dropped copies is in ``meta["duplicates_dropped"]``. In All_Beauty_5 this drops 1,050 of
  the 5,269 lines, leaving 4,219 reviews.
* Texts shared across products: the 5-core files also attach one reviewer's text to several
  sibling products (different ``asin``), which the key above rightly keeps as distinct reviews.
  They are reported, not dropped: ``meta["distinct_texts"]`` counts the distinct normalised
  texts (``shopintent.normalise.normalise_text``) and ``meta["texts_shared_across_items"]``
  the reviews whose normalised text is also on another item; ``meta["notes"]`` says both in
  a line that ``data prepare`` prints. In All_Beauty_5: 4,219 reviews, 1,363 distinct texts,
  3,807 reviews sharing their text with another item. A split of these reviews must keep
  each text on one side (``data.splits.text_grouped_split``).
* ``items``: one row per ``asin``. The review files carry no titles, brands, categories or
  prices (those are in the separate metadata files), so all of those stay null.
* ``events``: one ``purchase`` event per (deduplicated) review, at ``unixReviewTime``, by
  the reviewer, each in a session of its own (``session_id`` = ``review_id``), so that
  recommenders get an implicit user-item interaction. A verified review implies a purchase;
  an unverified one only says the reviewer had the product, so the extra events column
  ``verified`` (bool, null when absent) is kept for anyone who wants strictly confirmed
  purchases (``events[events.verified == True]``). ``price`` is not in the source: null.
* ``queries``: none in this source (empty table).

Bad input (missing file, invalid JSON, a missing key, bytes that are not UTF-8, a truncated
gzip, a field that cannot be parsed) fails naming the file and line (and column), or with
``on_bad_rows="skip"`` rows that cannot be parsed are dropped and counted in
``meta["bad_rows"]`` (undecodable bytes and truncated archives always fail).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.sources.checks import parse, reject_rows
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    read_jsonl,
    source_files,
)
from shopintent.data.store import ShopData
from shopintent.normalise import normalise_text

DATASET = "amazon-reviews"
PATTERNS = ("*.json", "*.json.gz")
REQUIRED = ("reviewerID", "asin", "overall", "unixReviewTime")
OPTIONAL = ("summary", "reviewText", "verified", "style")
DUPLICATE_KEY = ["user_id", "item_id", "ts", "summary", "reviewText"]
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = ("on_bad_rows",)


def load(source: Path, on_bad_rows: str = "error") -> ShopData:
    check_on_bad_rows(on_bad_rows)
    bad = BadRows()
    frames = []
    for path in source_files(source, DATASET, PATTERNS):
        frames.append(_read(path, on_bad_rows, bad))
    raw = pd.concat(frames, ignore_index=True)
    if raw.empty:
        raise SourceError(f"{DATASET}: no usable reviews in {source}")

    duplicated = raw.duplicated(DUPLICATE_KEY, keep="first").to_numpy()
    raw = raw[~duplicated].reset_index(drop=True)
    summary, body = raw["summary"].astype("string"), raw["reviewText"].astype("string")
    text = (summary + ". " + body).fillna(summary).fillna(body).astype(object)
    text = text.where(text.notna(), None)
    reviews = pd.DataFrame(
        {
            "review_id": raw["review_id"],
            "user_id": raw["user_id"],
            "item_id": raw["item_id"],
            "ts": raw["ts"],
            "rating": raw["rating"],
            "text": text,
            "sentiment": None,
            "style": raw["style"],
        }
    )
    events = pd.DataFrame(
        {
            "user_id": raw["user_id"],
            "session_id": raw["review_id"],
            "ts": raw["ts"],
            "event_type": "purchase",
            "item_id": raw["item_id"],
            "verified": raw["verified"],
        }
    )
    events = events.sort_values(["ts", "session_id"], kind="stable")
    items = pd.DataFrame({"item_id": raw["item_id"].drop_duplicates()})
    distinct, shared = shared_texts(reviews)
    meta = {
        "dataset": DATASET,
        "bad_rows": bad.as_meta(),
        "duplicates_dropped": int(duplicated.sum()),
        "distinct_texts": distinct,
        "texts_shared_across_items": shared,
        "notes": [
            f"reviews: {len(reviews):,} with {distinct:,} distinct texts; {shared:,} share their "
            "text with another item (kept: split reviews grouped by text)"
        ],
        "events_from": "one purchase per review (see the verified column)",
    }
    return ShopData.from_tables(events, items, reviews=reviews, meta=meta)


def shared_texts(reviews: pd.DataFrame) -> tuple[int, int]:
    """(distinct normalised texts, reviews whose normalised text is also on another item)."""
    norm = normalise_text(reviews["text"])
    has = norm.notna().to_numpy()
    frame = pd.DataFrame({"text": norm[has], "item_id": reviews["item_id"][has]})
    items_per_text = frame.groupby("text")["item_id"].transform("nunique")
    return int(frame["text"].nunique()), int((items_per_text > 1).sum())


def _read(path: Path, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    raw = read_jsonl(path, REQUIRED, on_bad_rows=on_bad_rows, bad=bad)
    for col in OPTIONAL:
        if col not in raw.columns:
            raw[col] = None
    # JSON numbers arrive as numpy columns: as Python objects, error messages quote them as written
    raw = raw.astype({col: object for col in (*REQUIRED, *OPTIONAL)})
    raw = parse(
        raw,
        path,
        {
            "reviewerID": "str",
            "asin": "str",
            "overall": "int",
            "unixReviewTime": "unix_s",
            "summary": "str?",
            "reviewText": "str?",
        },
        on_bad_rows=on_bad_rows,
        bad=bad,
    )
    raw = reject_rows(
        raw,
        path,
        ~raw["overall"].between(1, 5).to_numpy(),
        "overall",
        "is outside 1..5",
        on_bad_rows,
        bad,
    )
    # JSON values may be of any type: these checks look at each parsed object
    # (no text to vectorise over)
    not_bool = np.array(
        [not (v is None or v is True or v is False or v != v) for v in raw["verified"]], dtype=bool
    )
    raw = reject_rows(raw, path, not_bool, "verified", "is not true or false", on_bad_rows, bad)
    not_obj = np.array(
        [not (v is None or isinstance(v, dict) or v != v) for v in raw["style"]], dtype=bool
    )
    raw = reject_rows(raw, path, not_obj, "style", "is not a JSON object", on_bad_rows, bad)
    stem = path.name.removesuffix(".gz").removesuffix(".json")
    return pd.DataFrame(
        {
            "review_id": stem + ":" + raw["_line"].astype(str),
            "user_id": raw["reviewerID"].astype(str),
            "item_id": raw["asin"].astype(str),
            "ts": raw["unixReviewTime"],
            "rating": raw["overall"].astype("int64"),
            "summary": raw["summary"].astype(object).where(raw["summary"].notna(), None),
            "reviewText": raw["reviewText"].astype(object).where(raw["reviewText"].notna(), None),
            "verified": pd.array(
                [None if v is None or v != v else bool(v) for v in raw["verified"]], dtype="boolean"
            ),
            "style": [
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else None
                for v in raw["style"]
            ],
        }
    )
