"""MovieLens 100K (GroupLens), in RecBole's atomic-file layout or in the original GroupLens layout.

The layout is detected from the files present in ``source`` (a folder, or one of its files):

(a) RecBole atomic files (UTF-8, tab separated, a header line of ``name:type`` fields),
    preferred when a ``*.inter`` file is present (only the one named by ``source``, or the
    only one in the folder, e.g. ``ml-100k.inter``; the other files share its stem):

    * ``ml-100k.inter``: ``user_id:token  item_id:token  rating:float  timestamp:float`` (required)
    * ``ml-100k.item``:
      ``item_id:token  movie_title:token_seq  release_year:token  class:token_seq``
      (required; ``class`` holds the genres separated by spaces)
    * ``ml-100k.user``: ``user_id:token  age:token  gender:token  occupation:token  zip_code:token``
    * ``ml-100k.kg``: ``head_id:token  relation_id:token  tail_id:token`` (Freebase triples)
    * ``ml-100k.link``: ``item_id:token  entity_id:token`` (item -> KG entity)

(b) the original GroupLens files, no header:

    * ``u.data`` (required): tab separated ``user id, item id, rating, timestamp``
    * ``u.item`` (required, latin-1): ``|`` separated ``movie id|movie title|release date|
      video release date|IMDb URL|`` and 19 genre flags (0/1) in the order of ``GENRES``
    * ``u.user``: ``|`` separated ``user id|age|gender|occupation|zip code``

Decisions:

* ``events``: every rating line becomes one ``view`` event (a rating means the user watched
  the movie; MovieLens has no views, carts or purchases) at its timestamp (unix seconds),
  with the rating kept as the extra float column ``rating`` (0.5-5 accepted, the MovieLens
  scale; 100K has whole stars 1-5). Note the time is when the rating was entered, not when
  the movie was watched. ``session_id`` is one session per user and UTC day,
  ``<user_id>-<YYYY-MM-DD>``: users rate in sittings, and the full per-user history is
  still available through ``user_id``. ``price`` is not in the source: null.
* ``items``: ``title`` from the item file; ``category`` is ``movies.<first genre>`` with the
  genre lowercased (e.g. ``movies.animation``, ``movies.sci-fi``), null when no genre is
  known; ``attributes`` holds ``genres`` (all genres, ``|`` separated, in the publisher's
  order) and ``release_year`` (and ``imdb_url`` in the GroupLens layout), each only when
  known (null when none is). GroupLens' ``unknown`` genre flag means "no genre known", so it
  is not a genre. Titles are made the same in both layouts: GroupLens titles end in the
  year, ``Toy Story (1995)``, which is removed as RecBole does (``Toy Story``); the year is
  taken from the release date (``01-Jan-1995``). Placeholders for a missing value become
  null: RecBole's ``unkonwn`` (sic) title and year and GroupLens' ``unknown`` title (item
  267), and a RecBole ``release_year`` that is not four digits (item 1412 has ``V``).
  Brand, price and description do not exist here: null.
* extra tables, when their files are present: ``users`` (user_id, age int, gender,
  occupation, zip_code), and in the RecBole layout ``kg`` (head, relation, tail) and
  ``kg_link`` (item_id, entity_id). The GroupLens layout has no knowledge graph.
* ``queries`` and ``reviews``: none in this source (empty tables).
* A rating of an item missing from the item file is a bad row (named by file and line).
* Keys: a line repeating another exactly (a rating, an item, a user, a KG triple or link) is
  dropped and counted in ``meta["bad_rows"]["duplicates"]``; a (user, item, time), item id,
  user id or linked item repeated with other values is a bad row.

Bad input (missing or unrecognised files, wrong separator, missing column, bytes that are
not in the file's encoding, truncated lines, unparseable fields) fails naming the file, line
and column, or with ``on_bad_rows="skip"`` is dropped and counted in ``meta["bad_rows"]``.
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

DATASET = "movielens-100k"
GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
NO_GENRE = "unknown"
MISSING_TEXT = ("unknown", "unkonwn")  # the publishers' placeholders for a missing title or year
RATING_RANGE = (0.5, 5.0)
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = ("on_bad_rows",)

RECBOLE = {
    "inter": ["user_id:token", "item_id:token", "rating:float", "timestamp:float"],
    "item": ["item_id:token", "movie_title:token_seq", "release_year:token", "class:token_seq"],
    "user": ["user_id:token", "age:token", "gender:token", "occupation:token", "zip_code:token"],
    "kg": ["head_id:token", "relation_id:token", "tail_id:token"],
    "link": ["item_id:token", "entity_id:token"],
}
GROUPLENS = {
    "u.data": ["user_id", "item_id", "rating", "timestamp"],
    "u.item": ["item_id", "title", "release_date", "video_release_date", "imdb_url", *GENRES],
    "u.user": ["user_id", "age", "gender", "occupation", "zip_code"],
}
RATING_SPEC = {"user_id": "id", "item_id": "id", "rating": "float", "timestamp": "unix_s"}
USER_SPEC = {
    "user_id": "id",
    "age": "int",
    "gender": "str",
    "occupation": "str?",
    "zip_code": "str?",
}


def load(source: Path, on_bad_rows: str = "error") -> ShopData:
    check_on_bad_rows(on_bad_rows)
    bad = BadRows()
    layout, first = detect_layout(Path(source))
    read = _recbole if layout == "recbole" else _grouplens
    ratings, items, extras = read(first, on_bad_rows, bad)
    ratings = reject_rows(
        ratings,
        first,
        ~ratings["item_id"].isin(items["item_id"]).to_numpy(),
        "item_id",
        "is not in the item file",
        on_bad_rows,
        bad,
    )
    if ratings.empty:
        raise SourceError(f"{first}: no usable ratings")
    day = ratings["timestamp"].dt.strftime("%Y-%m-%d")
    events = pd.DataFrame(
        {
            "user_id": ratings["user_id"],
            "session_id": ratings["user_id"] + "-" + day,
            "ts": ratings["timestamp"],
            "event_type": "view",
            "item_id": ratings["item_id"],
            "rating": ratings["rating"].astype("float64"),
        }
    )
    events = events.sort_values(["ts", "session_id"], kind="stable")
    meta = {
        "dataset": DATASET,
        "layout": layout,
        "bad_rows": bad.as_meta(),
        "sessions": "one per user and UTC day",
        "event_type": "view = a rating (rating column)",
    }
    return ShopData.from_tables(events, items, extras=extras, meta=meta)


def detect_layout(source: Path) -> tuple[str, Path]:
    """``("recbole", <stem>.inter)`` or ``("grouplens", u.data)`` from the files in ``source``."""
    if source.is_file():
        if source.suffix == ".inter":
            return "recbole", source
        if source.name == "u.data":
            return "grouplens", source
        folder = source.parent
    elif source.is_dir():
        folder = source
    else:
        raise SourceError(f"{DATASET}: {source} does not exist")
    inters = sorted(folder.glob("*.inter"))
    if len(inters) > 1:
        raise SourceError(
            f"{DATASET}: several RecBole interaction files in {folder} "
            f"({', '.join(p.name for p in inters)}); pass the one to load"
        )
    if inters:
        return "recbole", inters[0]
    if (folder / "u.data").is_file():
        return "grouplens", folder / "u.data"
    raise SourceError(
        f"{DATASET}: expected ml-100k.inter and ml-100k.item (RecBole atomic files) "
        f"or u.data and u.item (GroupLens) in {folder}"
    )


def _recbole(
    inter: Path, on_bad_rows: str, bad: BadRows
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    folder, stem = inter.parent, inter.stem

    def read(kind: str, spec: dict) -> pd.DataFrame:
        path = source_file(folder, DATASET, (f"{stem}.{kind}",))
        raw = read_csv(path, RECBOLE[kind], sep="\t", on_bad_rows=on_bad_rows, bad=bad)
        raw = raw.rename(columns={c: c.split(":")[0] for c in RECBOLE[kind]})
        return parse(raw, path, spec, on_bad_rows=on_bad_rows, bad=bad)

    ratings = _check_ratings(read("inter", RATING_SPEC), inter, on_bad_rows, bad)
    raw = read(
        "item", {"item_id": "id", "movie_title": "str?", "release_year": "str?", "class": "str?"}
    )
    raw = _unique_items(raw, folder / f"{stem}.item", on_bad_rows, bad)
    genres = (
        raw["class"]
        .fillna("")
        .str.split()
        .str.join("|")
        .str.replace(rf"(^|\|){NO_GENRE}(?=\||$)", "", regex=True)
        .str.strip("|")
    )
    year = raw["release_year"].where(raw["release_year"].fillna("").str.fullmatch(r"\d{4}"))
    items = _items(raw["item_id"], raw["movie_title"], genres, {"release_year": year})
    extras = {}
    if (folder / f"{stem}.user").is_file():
        users = _keyed(
            read("user", USER_SPEC), folder / f"{stem}.user", "user_id", on_bad_rows, bad
        )
        extras["users"] = _users(users)
    if (folder / f"{stem}.kg").is_file():
        kg = read("kg", {"head_id": "id", "relation_id": "id", "tail_id": "id"})
        kg = duplicates(kg, folder / f"{stem}.kg", bad)  # a triple twice is one fact: dropped
        extras["kg"] = pd.DataFrame(
            {
                "head": kg["head_id"].astype(str),
                "relation": kg["relation_id"].astype(str),
                "tail": kg["tail_id"].astype(str),
            }
        )
    if (folder / f"{stem}.link").is_file():
        link = _keyed(
            read("link", {"item_id": "id", "entity_id": "id"}),
            folder / f"{stem}.link",
            "item_id",
            on_bad_rows,
            bad,
        )
        extras["kg_link"] = pd.DataFrame(
            {"item_id": link["item_id"].astype(str), "entity_id": link["entity_id"].astype(str)}
        )
    return ratings, items, extras


def _grouplens(
    data: Path, on_bad_rows: str, bad: BadRows
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    folder = data.parent

    def read(name: str, spec: dict, sep: str, encoding: str = "utf-8") -> pd.DataFrame:
        path = source_file(folder, DATASET, (name,))
        raw = read_csv(
            path,
            GROUPLENS[name],
            sep=sep,
            header=False,
            encoding=encoding,
            on_bad_rows=on_bad_rows,
            bad=bad,
        )
        return parse(raw, path, spec, on_bad_rows=on_bad_rows, bad=bad)

    ratings = _check_ratings(read("u.data", RATING_SPEC, "\t"), data, on_bad_rows, bad)
    raw = read(
        "u.item",
        {
            "item_id": "id",
            "title": "str?",
            "release_date": "str?",
            "imdb_url": "str?",
            **{g: ("choice", ("0", "1")) for g in GENRES},
        },
        "|",
        encoding="latin-1",
    )
    raw = _unique_items(raw, folder / "u.item", on_bad_rows, bad)
    date = r"^\d{1,2}-[A-Za-z]{3}-(\d{4})$"
    not_date = raw["release_date"].notna() & ~raw["release_date"].fillna("").str.match(date)
    raw = reject_rows(
        raw,
        folder / "u.item",
        not_date.to_numpy(),
        "release_date",
        "is not a date like 01-Jan-1995",
        on_bad_rows,
        bad,
    )
    year = raw["release_date"].str.extract(date, expand=False)
    named = [g for g in GENRES if g != NO_GENRE]
    labels = np.where(
        (raw[named] == "1").to_numpy(), np.array([g + "|" for g in named], dtype=object), ""
    )
    genres = pd.Series(
        labels.sum(axis=1) if len(raw) else [], index=raw.index, dtype=object
    ).str.rstrip("|")
    title = raw["title"].str.replace(r"\s*\(\d{4}\)$", "", regex=True)
    items = _items(
        raw["item_id"], title, genres, {"release_year": year, "imdb_url": raw["imdb_url"]}
    )
    extras = {}
    if (folder / "u.user").is_file():
        extras["users"] = _users(
            _keyed(read("u.user", USER_SPEC, "|"), folder / "u.user", "user_id", on_bad_rows, bad)
        )
    return ratings, items, extras


def _items(
    item_id: pd.Series, title: pd.Series, genres: pd.Series, attrs: dict[str, pd.Series]
) -> pd.DataFrame:
    """Items with category ``movies.<first genre>`` and attributes genres + ``attrs``.

    Nulls are left out.
    """
    title = title.where(~title.isin(MISSING_TEXT) & title.notna(), None)
    genres = genres.where(genres.notna() & (genres != ""), None)
    category = ("movies." + genres.str.split("|").str[0].str.lower()).where(genres.notna(), None)
    table = pd.DataFrame({"genres": genres, **attrs}).astype(object)
    table = table.where(table.notna() & ~table.isin(MISSING_TEXT), None)
    # a dict per item (the canonical attributes column holds Python dicts)
    attributes = [
        {k: str(v) for k, v in rec.items() if v is not None} or None
        for rec in table.to_dict("records")
    ]
    return pd.DataFrame(
        {
            "item_id": item_id.astype(str),
            "title": title,
            "category": category,
            "attributes": pd.Series(attributes, index=item_id.index, dtype=object),
        }
    )


def _unique_items(raw: pd.DataFrame, path: Path, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    return _keyed(raw, path, "item_id", on_bad_rows, bad)


def _keyed(raw: pd.DataFrame, path: Path, key: str, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    """An exact repeat of a line is dropped (counted).

    The key again with other values is a bad row.
    """
    return duplicates(raw, path, bad, key=[key], on_bad_rows=on_bad_rows)


def _users(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": raw["user_id"].astype(str),
            "age": raw["age"].astype("int64"),
            "gender": raw["gender"],
            "occupation": raw["occupation"],
            "zip_code": raw["zip_code"],
        }
    )


def _check_ratings(raw: pd.DataFrame, path: Path, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    """Ratings in range; a (user, item, time) rated twice is dropped if equal, else a bad row."""
    lo, hi = RATING_RANGE
    raw = reject_rows(
        raw,
        path,
        ~raw["rating"].between(lo, hi).to_numpy(),
        "rating",
        f"is outside {lo:g}..{hi:g}",
        on_bad_rows,
        bad,
    )
    return duplicates(
        raw, path, bad, key=["user_id", "item_id", "timestamp"], on_bad_rows=on_bad_rows
    )
