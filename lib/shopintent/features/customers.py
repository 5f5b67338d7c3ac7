"""One row of behaviour covariates per user, from the event log: what a campaign model may know.

Counts (sessions, views, carts, purchases, searches), rates (purchases and carts per session),
spend, recency and active days, and the price level they browse: the mean log price of the items
they viewed against their category's median (budget < 0 < premium). The price level is also given
as a standard score within the category (log price minus the category's mean, over its spread:
categories differ in how widely prices vary) for the items viewed, carted and bought, with the
spread of the viewed ones (a user who keeps to one price level has a narrow spread). Users
absent from the log get zero counts, rates and price levels, and the log's whole span as recency
(econml's learners take no missing values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["user_covariates"]


def user_covariates(events: pd.DataFrame, items: pd.DataFrame, users) -> pd.DataFrame:
    """Covariates of ``users`` (ids, in that order) from ``events`` (canonical) and ``items``."""
    ev = events
    by = ev.groupby("user_id")
    kinds = pd.crosstab(ev["user_id"], ev["event_type"])
    out = pd.DataFrame(index=pd.Index(users, name="user_id"))
    out["sessions"] = by["session_id"].nunique()
    for kind, name in (
        ("view", "views"),
        ("cart", "carts"),
        ("purchase", "purchases"),
        ("search", "searches"),
    ):
        out[name] = kinds[kind] if kind in kinds else 0
    out = out.fillna({c: 0 for c in out.columns})
    out["purchase_rate"] = out["purchases"] / out["sessions"].replace(0, np.nan)
    out["cart_rate"] = out["carts"] / out["sessions"].replace(0, np.nan)
    bought = ev[ev["event_type"] == "purchase"]
    out["spend"] = bought.groupby("user_id")["price"].sum().reindex(out.index).fillna(0.0)
    end = ev["ts"].max()
    out["days_since_last"] = (end - by["ts"].max()).dt.total_seconds().reindex(out.index) / 86400
    days = ev["ts"].dt.floor("D").groupby(ev["user_id"]).nunique()
    out["active_days"] = days.reindex(out.index)
    viewed = ev[ev["event_type"] == "view"].dropna(subset=["item_id", "price"])
    if "category" in items and len(viewed):
        cat = viewed["item_id"].map(items.set_index("item_id")["category"])
        median = viewed.groupby(cat)["price"].transform("median")
        rel = np.log(viewed["price"] / median)
        out["browsed_price_level"] = rel.groupby(viewed["user_id"]).mean().reindex(out.index)
        out = out.join(_price_scores(ev, items))
    span = (end - ev["ts"].min()).total_seconds() / 86400
    out = out.fillna({"days_since_last": span})
    return out.fillna(0.0).astype(float)


def _price_scores(events: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Per user: the mean standard score of the log price within its category of the items
    viewed, carted and bought, and the spread of the viewed ones."""
    ev = events[events["event_type"].isin(("view", "cart", "purchase"))]
    ev = ev.dropna(subset=["item_id", "price"])
    ev = ev[ev["price"] > 0]
    logp = np.log(ev["price"])
    by_cat = logp.groupby(ev["item_id"].map(items.set_index("item_id")["category"]))
    z = (logp - by_cat.transform("mean")) / by_cat.transform("std").replace(0, np.nan)
    frame = pd.DataFrame({"user_id": ev["user_id"], "kind": ev["event_type"], "z": z.fillna(0.0)})
    out = frame.pivot_table(index="user_id", columns="kind", values="z", aggfunc="mean")
    out = out.reindex(columns=["view", "cart", "purchase"])
    out.columns = ["viewed_price_z", "carted_price_z", "bought_price_z"]
    views = frame[frame["kind"] == "view"]
    out["viewed_price_z_spread"] = views.groupby("user_id")["z"].std()
    return out
