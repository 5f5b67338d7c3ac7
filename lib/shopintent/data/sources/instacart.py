"""Instacart Online Grocery Shopping 2017: CSVs in one folder (each may also be a ``.csv.zip``,
as Kaggle distributes them):

- ``products.csv``: ``product_id,product_name,aisle_id,department_id``
- ``aisles.csv``: ``aisle_id,aisle``; ``departments.csv``: ``department_id,department``
- ``orders.csv``:
  ``order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day,days_since_prior_order``
- ``order_products__prior.csv`` and, when present, ``order_products__train.csv``:
  ``order_id,product_id,add_to_cart_order,reordered``

Decisions:

- Items: every product of ``products.csv``; ``title`` is ``product_name``, ``category`` is
  ``<department>.<aisle>`` with spaces replaced by underscores (``frozen.frozen_meals``). The
  source's placeholder department/aisle ``missing`` means unknown: such products get a null
  category. ``aisle_id`` and ``department_id`` are kept as extra items columns. Brands,
  prices and descriptions do not exist here and stay null. A product that an order line
  names but ``products.csv`` lacks gets an item with only its id (counted in meta).
- Events: one ``purchase`` per order line, ``item_id`` = ``product_id``,
  ``session_id`` = ``order_id``, ``user_id`` from ``orders.csv``. ``add_to_cart_order`` and
  ``reordered`` are kept as extra events columns. There are no prices or searches (null).
- Time: Instacart publishes no dates, only each order's ``order_number`` for its user, the
  days since the user's previous order (``days_since_prior_order``, capped at 30 by the
  publisher, empty for a first order) and the hour of day. An order's ``ts`` is
  2017-01-01 00:00 UTC + the cumulative days since the user's first order listed in
  ``orders.csv`` + ``order_hour_of_day`` hours. Only relative time within a user is real:
  the anchor date is arbitrary, ``order_dow`` is not reflected, gaps above 30 days are
  counted as 30, and when some of a user's orders are absent from ``orders.csv`` (as in
  samples) the days between the listed ones are under-counted. An empty
  ``days_since_prior_order`` on an order other than the user's first (``order_number`` 1)
  is a bad row: it is what a line cut after its hour looks like.
- Ranges: ``order_number`` >= 1, ``order_dow`` 0-6, ``order_hour_of_day`` 0-23,
  ``days_since_prior_order`` 0-365, ``add_to_cart_order`` >= 1, ``reordered`` 0 or 1; a value
  outside is a bad row. Keys: a product, aisle, department or order listed twice, or a product
  twice in one order, is dropped when the lines are equal (counted in
  ``meta["bad_rows"]["duplicates"]``) and a bad row when they differ.
- Orders present in only one of ``orders.csv`` and the order-line files are dropped (in a
  sample, ``orders.csv`` lists test/train orders whose lines are absent, and lines reference
  orders it does not list); ``meta["dropped"]`` counts them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.sources.checks import check_range, check_times, duplicates, parse
from shopintent.data.sources.reading import (
    BadRows,
    SourceError,
    check_on_bad_rows,
    read_csv,
    source_file,
)
from shopintent.data.store import ShopData

ANCHOR = pd.Timestamp("2017-01-01", tz="UTC")
MISSING = "missing"
PRODUCTS = ["product_id", "product_name", "aisle_id", "department_id"]
AISLES = ["aisle_id", "aisle"]
DEPARTMENTS = ["department_id", "department"]
ORDERS = [
    "order_id",
    "user_id",
    "eval_set",
    "order_number",
    "order_dow",
    "order_hour_of_day",
    "days_since_prior_order",
]
LINES = ["order_id", "product_id", "add_to_cart_order", "reordered"]
LINE_FILES = ("order_products__prior", "order_products__train")
#: the options ``load`` takes besides ``source`` (the command line refuses others)
OPTIONS = ("on_bad_rows",)
#: orders.csv columns and their valid ranges (inclusive): a value outside is a bad row
RANGES = (
    ("order_number", 1, None),
    ("order_dow", 0, 6),
    ("order_hour_of_day", 0, 23),
    ("days_since_prior_order", 0, 365),
)


def _names(stem: str) -> tuple[str, ...]:
    return (f"{stem}.csv", f"{stem}.csv.zip", f"{stem}.csv.gz")


def load(source: Path, on_bad_rows: str = "error") -> ShopData:
    check_on_bad_rows(on_bad_rows)
    source = Path(source)
    if not source.is_dir():
        raise SourceError(
            f"instacart: {source} is not a folder (expected products.csv, aisles.csv, "
            "departments.csv, orders.csv, order_products__prior.csv in it)"
        )
    bad = BadRows()

    def read(stem: str, columns: list[str], spec: dict) -> pd.DataFrame:
        path = source_file(source, "instacart", _names(stem))
        raw = read_csv(path, columns, on_bad_rows=on_bad_rows, bad=bad)
        df = parse(raw, path, spec, on_bad_rows=on_bad_rows, bad=bad)
        df.attrs["path"] = path
        return df

    products = read(
        "products",
        PRODUCTS,
        {"product_id": "id", "product_name": "str?", "aisle_id": "id", "department_id": "id"},
    )
    aisles = read("aisles", AISLES, {"aisle_id": "id", "aisle": "str"})
    departments = read("departments", DEPARTMENTS, {"department_id": "id", "department": "str"})
    orders = read(
        "orders",
        ORDERS,
        {
            "order_id": "id",
            "user_id": "id",
            "eval_set": "str",
            "order_number": "int",
            "order_dow": "int",
            "order_hour_of_day": "int",
            "days_since_prior_order": "float?",
        },
    )
    for col, lo, hi in RANGES:
        checked = check_range(orders, orders.attrs["path"], col, lo, hi, on_bad_rows, bad)
        orders = _kept(orders, checked)
    orders = _check_first_orders(orders, on_bad_rows, bad)
    products, aisles, departments, orders = (
        _kept(df, duplicates(df, df.attrs["path"], bad, key=[key], on_bad_rows=on_bad_rows))
        for df, key in (
            (products, "product_id"),
            (aisles, "aisle_id"),
            (departments, "department_id"),
            (orders, "order_id"),
        )
    )
    line_spec = {
        "order_id": "id",
        "product_id": "id",
        "add_to_cart_order": "int",
        "reordered": ("choice", ("0", "1")),
    }
    names = [LINE_FILES[0]]
    if any((source / name).is_file() for name in _names(LINE_FILES[1])):
        names.append(LINE_FILES[1])
    frames = []
    for stem in names:
        df = read(stem, LINES, line_spec)
        path = df.attrs["path"]
        df = _kept(df, check_range(df, path, "add_to_cart_order", 1, None, on_bad_rows, bad))
        # a product is in an order once: an exact repeat is dropped (counted), another is a bad row
        frames.append(
            _kept(
                df,
                duplicates(df, path, bad, key=["order_id", "product_id"], on_bad_rows=on_bad_rows),
            )
        )
    lines = pd.concat(frames, ignore_index=True)
    repeated = lines.duplicated(["order_id", "product_id"]).to_numpy()
    if repeated.any():  # the same order line in the prior and the train file
        first = int(np.flatnonzero(repeated)[0])
        files = ", ".join(f"{n}.csv" for n in names)
        raise SourceError(
            f"instacart: order {lines['order_id'].iat[first]} lists product "
            f"{lines['product_id'].iat[first]} in both {files}"
        )

    orders["ts"] = _order_times(orders)
    orders = _kept(orders, check_times(orders, orders.attrs["path"], "ts", on_bad_rows, bad))
    listed = pd.Index(orders["order_id"])
    has_lines = pd.Index(lines["order_id"].unique())
    unlisted = ~lines["order_id"].isin(listed)
    dropped = {
        "orders_without_lines": int((~listed.isin(has_lines)).sum()),
        "orders_missing_from_orders_csv": int(lines.loc[unlisted, "order_id"].nunique()),
        "order_lines_of_missing_orders": int(unlisted.sum()),
    }
    lines = lines[~unlisted].merge(orders[["order_id", "user_id", "ts"]], on="order_id", how="left")
    if lines.empty:
        raise SourceError(
            f"instacart: no order in {source} is in both orders.csv and the order-line files"
        )
    events = pd.DataFrame(
        {
            "user_id": lines["user_id"],
            "session_id": lines["order_id"],
            "ts": lines["ts"],
            "event_type": "purchase",
            "item_id": lines["product_id"],
            "add_to_cart_order": lines["add_to_cart_order"].astype("int64"),
            "reordered": lines["reordered"].astype("int64"),
        }
    )
    events = events.sort_values(["ts", "session_id", "add_to_cart_order"], kind="stable")

    items = _items(products, aisles, departments)
    unknown = pd.Index(events["item_id"].unique()).difference(pd.Index(items["item_id"]))
    if len(unknown):
        items = pd.concat([items, pd.DataFrame({"item_id": unknown.to_numpy()})], ignore_index=True)
    meta = {
        "dataset": "instacart",
        "bad_rows": bad.as_meta(),
        "dropped": dropped,
        "products_missing_from_products_csv": len(unknown),
        "time_anchor": ANCHOR.isoformat(),
        "line_files": [f.attrs["path"].name for f in frames],
    }
    return ShopData.from_tables(events, items, meta=meta)


def _check_first_orders(orders: pd.DataFrame, on_bad_rows: str, bad: BadRows) -> pd.DataFrame:
    """Only a user's first order (order_number 1) may lack days_since_prior_order."""
    path = orders.attrs["path"]
    invalid = (orders["days_since_prior_order"].isna() & (orders["order_number"] > 1)).to_numpy()
    if not invalid.any():
        return orders
    lines = orders["_line"].to_numpy()[invalid]
    reason = (
        "column days_since_prior_order: '' is not a number (only order_number 1 may leave it empty)"
    )
    if on_bad_rows == "error":
        more = f" ({len(lines)} such rows)" if len(lines) > 1 else ""
        raise SourceError(f"{path} line {lines[0]}: {reason}{more}")
    bad.add(path, lines, reason)
    out = orders[~invalid].reset_index(drop=True)
    out.attrs["path"] = path
    return out


def _kept(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """``after`` with the file path of ``before`` (a filter may drop DataFrame.attrs)."""
    after.attrs["path"] = before.attrs["path"]
    return after


def _order_times(orders: pd.DataFrame) -> pd.Series:
    """ANCHOR + days since the user's first listed order + hour of day, aligned with ``orders``."""
    ordered = orders.sort_values(["user_id", "order_number"], kind="stable")
    first = ~ordered["user_id"].duplicated()
    days = ordered["days_since_prior_order"].where(~first, 0.0).fillna(0.0)
    cumulative = days.groupby(ordered["user_id"].to_numpy()).cumsum()
    ts = (
        ANCHOR
        + pd.to_timedelta(cumulative.to_numpy(), unit="D")
        + pd.to_timedelta(ordered["order_hour_of_day"].to_numpy(np.float64), unit="h")
    )
    return pd.Series(ts, index=ordered.index).reindex(orders.index)


def _items(products: pd.DataFrame, aisles: pd.DataFrame, departments: pd.DataFrame) -> pd.DataFrame:
    aisle = products["aisle_id"].map(
        aisles.drop_duplicates("aisle_id").set_index("aisle_id")["aisle"]
    )
    dept = products["department_id"].map(
        departments.drop_duplicates("department_id").set_index("department_id")["department"]
    )
    known = aisle.notna() & dept.notna() & aisle.ne(MISSING) & dept.ne(MISSING)
    category = (_level(dept) + "." + _level(aisle)).where(known, None)
    return pd.DataFrame(
        {
            "item_id": products["product_id"],
            "title": products["product_name"],
            "category": category,
            "aisle_id": products["aisle_id"],
            "department_id": products["department_id"],
        }
    )


def _level(s: pd.Series) -> pd.Series:
    """One readable path level: trimmed, spaces to underscores, no dots."""
    return (
        s.fillna("")
        .str.strip()
        .str.replace(".", "", regex=False)
        .str.replace(r"\s+", "_", regex=True)
    )
