"""The conversion funnel search → view → cart → purchase, counted per session or per user.

A unit (session or user) *reaches* a stage when it has at least one event of that type; the
stages are counted independently (a session may cart without a recorded view, and many sessions
view without searching). ``step_rate`` divides a stage's units by the previous stage's units, so
it can exceed 1 when units skip the previous stage; ``from_previous`` is the nested version
(units reaching both / units reaching the previous stage). A stage the log has no events of at
all (Taobao has no searches, Groceries only purchases) is *absent*: its rates are None, never 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopintent.data.schema import CORE_EVENT_TYPES

FUNNEL = CORE_EVENT_TYPES  # search, view, cart, purchase
UNITS = {"session": "session_id", "user": "user_id"}


def _reached(events: pd.DataFrame, unit: str) -> pd.DataFrame:
    """One row per unit, one bool column per funnel stage: did the unit have such an event?"""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    # Every unit gets a row, also one with only non-funnel events (e.g. fav): it is in the
    # denominator. Events without the unit (anonymous sessions have no user) count for no unit.
    events = events[events[UNITS[unit]].notna()]
    unit_code, units = pd.factorize(events[UNITS[unit]])
    stage = pd.Index(FUNNEL).get_indexer(events["event_type"])
    reached = np.zeros((len(units), len(FUNNEL)), dtype=bool)
    reached[unit_code[stage >= 0], stage[stage >= 0]] = True
    return pd.DataFrame(reached, index=pd.Index(units, name=UNITS[unit]), columns=list(FUNNEL))


def funnel_table(events: pd.DataFrame, unit: str = "session") -> pd.DataFrame:
    """The funnel per ``unit`` ("session" or "user"):
    ``stage, present, units, share_of_all, step_rate, from_previous``.

    ``units``: how many sessions (users) have at least one event of the stage; ``share_of_all``:
    units / all units; ``step_rate``: units / units of the previous stage; ``from_previous``:
    units that reach this stage and the previous one / units of the previous stage. Rates are
    NaN for the first stage, and wherever this stage or the previous one is absent from the log.
    """
    reached = _reached(events, unit)
    events = events[events[UNITS[unit]].notna()]  # a log without user ids has no user funnel
    present = events["event_type"].value_counts().reindex(list(FUNNEL), fill_value=0).gt(0)
    both = (reached & reached.shift(1, axis=1, fill_value=False)).sum().to_numpy()
    return table_from_counts(unit, present.to_numpy(), reached.sum().to_numpy(), both, len(reached))


def table_from_counts(
    unit: str, present: np.ndarray, units: np.ndarray, both: np.ndarray, total: int
) -> pd.DataFrame:
    """``funnel_table`` from its counts per stage (in ``FUNNEL`` order): whether the log has the
    stage, the units reaching it, the units reaching it and the previous stage, and all units.
    Shared by the pandas and the Spark engine (``eda/spark_summary.py``), which count apart."""
    units = pd.Series(np.asarray(units, dtype=np.int64))
    present = pd.Series(np.asarray(present, dtype=bool))
    out = pd.DataFrame({"stage": list(FUNNEL), "present": present, "units": units})
    out["share_of_all"] = (units / total).where(present).to_numpy() if total else np.nan
    prev_units = out["units"].shift(1)
    ok = out["present"] & out["present"].shift(1, fill_value=False) & prev_units.gt(0)
    out["step_rate"] = (out["units"] / prev_units).where(ok)
    out["from_previous"] = (pd.Series(np.asarray(both)) / prev_units).where(ok)
    out.attrs["unit"] = unit
    out.attrs["total_units"] = total
    return out


def _ratio(num: int, den: int, *stages_present: bool) -> float | None:
    return float(num / den) if all(stages_present) and den > 0 else None


def funnel_rates(events: pd.DataFrame, unit: str = "session") -> dict[str, float | None]:
    """The funnel's headline rates per ``unit``; None where a stage is absent from the log.

    - ``search_share`` = units with a search / all units
    - ``view_to_cart`` = units with a cart / units with a view
    - ``cart_to_purchase`` = units with a purchase / units with a cart
    - ``view_to_purchase`` = units with a purchase / units with a view
    - ``conversion`` = units with a purchase / all units (session conversion for unit="session")

    Stages are counted independently, so a rate can exceed 1 where units skip a stage (the
    REES46 head sample buys in more sessions than it carts); ``funnel_table``'s
    ``from_previous`` gives the nested rate.
    """
    return rates_from_table(funnel_table(events, unit))


def rates_from_table(table: pd.DataFrame) -> dict[str, float | None]:
    """``funnel_rates`` from a ``funnel_table`` (of either engine)."""
    t = table.set_index("stage")
    n, p = t["units"], t["present"]
    return {
        "search_share": _ratio(n["search"], t.attrs["total_units"], p["search"]),
        "view_to_cart": _ratio(n["cart"], n["view"], p["view"], p["cart"]),
        "cart_to_purchase": _ratio(n["purchase"], n["cart"], p["cart"], p["purchase"]),
        "view_to_purchase": _ratio(n["purchase"], n["view"], p["view"], p["purchase"]),
        "conversion": _ratio(n["purchase"], t.attrs["total_units"], p["purchase"]),
    }


def funnel_both(events: pd.DataFrame) -> pd.DataFrame:
    """Sessions and users side by side: ``stage, present, sessions, session_step_rate,
    session_from_previous, users, user_step_rate, user_from_previous``."""
    s, u = funnel_table(events, "session"), funnel_table(events, "user")
    return pd.DataFrame(
        {
            "stage": s["stage"],
            "present": s["present"],
            "sessions": s["units"],
            "session_step_rate": s["step_rate"],
            "session_from_previous": s["from_previous"],
            "users": u["units"],
            "user_step_rate": u["step_rate"],
            "user_from_previous": u["from_previous"],
        }
    )
