"""The ``orders`` layout: transactions of your own, one row per order line (an item in an order or
invoice), columns named by a mapping (see ``layouts``: CSV, TSV or Parquet, ``--columns``...).

Fields: ``order``, ``item``, ``time`` required; ``customer``, ``quantity``, ``price``,
``description`` optional. Example (the UCI Online Retail II file)::

    shopintent data prepare --dataset orders --source online_retail_II.parquet --name retail \\
        --columns "order=Invoice,item=StockCode,time=InvoiceDate,customer=Customer ID,\\
quantity=Quantity,price=Price,description=Description"

Decisions:

- Events: each order line with a positive (or no) quantity is one ``purchase`` event:
  ``session_id`` = order, ``user_id`` = customer (null when not given or empty: a guest order
  stays without a user), ``ts`` = time, ``item_id`` = item, ``price`` = the line's unit price
  (null when not given). The quantity is kept as the extra events column ``quantity`` (float,
  null when not given). An order holding one item on several lines is a legitimate shape of
  order data, not a duplicate: every line is kept (``meta["repeated_order_lines"]`` counts
  lines whose order and item an earlier line already had).
- Returns: a line with a negative quantity (a return or cancellation) is not a purchase. It is
  not dropped either: such lines go to the extra table ``returns`` (``order_id, item_id, ts,
  user_id, quantity, price``) and are counted in ``meta["return_lines"]``. A quantity of zero
  (neither) is a bad row, as is a negative price (e.g. a bookkeeping adjustment line).
- Items: every item seen (bought or returned). ``title`` = the first description seen for it
  (file order; ``meta["items_with_several_descriptions"]`` counts items described in more than
  one way); ``price`` = the unit price of its latest purchase line that has one. Brand and
  category are not in order lines: null.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopintent.data.sources import layouts
from shopintent.data.sources.checks import check_range, reject_rows
from shopintent.data.sources.reading import BadRows
from shopintent.data.store import ShopData

LAYOUT = "orders"
FIELDS = {
    "order": True,
    "item": True,
    "time": True,
    "customer": False,
    "quantity": False,
    "price": False,
    "description": False,
}
SPEC = {
    "order": "id",
    "item": "id",
    "customer": "id?",
    "quantity": "float?",
    "price": "float?",
    "description": "str?",
}
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
    spec = {**SPEC, "time": layouts.time_kind(time_format)}

    def convert(path: Path, rows: pd.DataFrame, mapping: dict, bad: BadRows) -> pd.DataFrame:
        zero = (rows["quantity"] == 0).to_numpy()
        what = "is zero: an order line neither buys nor returns anything"
        rows = reject_rows(rows, path, zero, "quantity", what, on_bad_rows, bad)
        return check_range(rows, path, "price", 0, None, on_bad_rows, bad)

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
    )
    raw = read.rows
    raw["quantity"] = raw["quantity"].astype("float64")
    raw["price"] = raw["price"].astype("float64")

    returned = (raw["quantity"] < 0).to_numpy()
    bought = raw[~returned]
    events = pd.DataFrame(
        {
            "user_id": bought["customer"],
            "session_id": bought["order"],
            "ts": bought["time"],
            "event_type": "purchase",
            "item_id": bought["item"],
            "price": bought["price"],
            "quantity": bought["quantity"],
        }
    ).sort_values(["ts", "session_id"], kind="stable")
    back = raw[returned]
    returns = pd.DataFrame(
        {
            "order_id": back["order"].astype(str),
            "item_id": back["item"].astype(str),
            "ts": back["time"],
            "user_id": back["customer"].astype(object),
            "quantity": back["quantity"],
            "price": back["price"],
        }
    ).reset_index(drop=True)

    title, several = layouts.first_seen(raw, "item", "description")
    price = bought.sort_values("time", kind="stable").groupby("item")["price"].last()
    item_ids = pd.Index(raw["item"].unique())
    items = pd.DataFrame(
        {
            "item_id": item_ids,
            "title": title.reindex(item_ids).to_numpy(object),
            "price": price.reindex(item_ids).to_numpy("float64"),
        }
    )
    items["title"] = items["title"].where(items["title"].notna(), None)
    meta = {
        **read.meta(),
        "order_lines": len(raw),
        "return_lines": int(returned.sum()),
        "repeated_order_lines": int(bought.duplicated(["order", "item"]).sum()),
        "events_without_user": int(bought["customer"].isna().sum()),
        "items_with_several_descriptions": several,
        "returns": "lines with a negative quantity: extra table returns, not purchase events",
    }
    return ShopData.from_tables(events, items, extras={"returns": returns}, meta=meta)
