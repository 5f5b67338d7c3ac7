"""The ``campaign`` layout: a randomised campaign experiment, one row per customer (CSV).

Columns, named by the caller (defaults fit Kevin Hillstrom's MineThatData e-mail test,
``hillstrom.csv``): ``arm`` — the arm each customer was assigned to (required), with the
control arm's label ``control``; ``outcomes`` — one or more 0/1 or numeric outcome columns
(required, e.g. ``visit``, ``conversion``); ``user`` — a customer id (optional: the row number
when absent). Every other column is a pre-treatment covariate, kept as it is.

Output: a ``ShopData`` without events, items, queries or reviews, whose extra table
``campaign`` holds ``user_id``, ``arm``, ``treated`` (arm is not the control), the outcomes and
the covariates. Errors name the file, the column and the first bad rows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopintent.data.store import ShopData

__all__ = ["load"]

HILLSTROM = {"arm": "segment", "control": "No E-Mail", "outcomes": ("visit", "conversion", "spend")}


def _file(source: Path) -> Path:
    source = Path(source)
    if source.is_dir():
        found = sorted(source.glob("*.csv"))
        if len(found) != 1:
            raise FileNotFoundError(
                f"{source}: expected one campaign CSV file, found {len(found)} "
                f"({', '.join(p.name for p in found) or 'none'})"
            )
        return found[0]
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such campaign file")
    return source


def load(
    source: str | Path,
    arm: str = HILLSTROM["arm"],
    control: str = HILLSTROM["control"],
    outcomes: tuple[str, ...] = HILLSTROM["outcomes"],
    user: str | None = None,
) -> ShopData:
    """Read a campaign experiment (see the module docstring)."""
    path = _file(Path(source))
    frame = pd.read_csv(path, dtype={arm: str} | ({user: str} if user else {}))
    needed = [arm, *outcomes, *([user] if user else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path.name}: missing column(s) {', '.join(missing)} "
            f"(it has {', '.join(frame.columns)})"
        )
    for col in outcomes:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna()
        if bad.any():
            rows = (bad[bad].index[:3] + 2).tolist()  # +1 header, +1 one-based
            raise ValueError(
                f"{path.name}: column {col}: {int(bad.sum())} values are not numbers "
                f"(lines {', '.join(map(str, rows))}: "
                f"{', '.join(repr(v) for v in frame.loc[bad, col].head(3))})"
            )
        frame[col] = values
    arms = frame[arm].fillna("")
    if not (arms == control).any():
        raise ValueError(
            f"{path.name}: column {arm}: no row has the control arm {control!r} "
            f"(arms: {', '.join(sorted(arms.unique()))})"
        )
    if (arms == control).all():
        raise ValueError(f"{path.name}: column {arm}: every row is the control arm {control!r}")
    ids = frame[user] if user else pd.Series(range(1, len(frame) + 1)).astype(str)
    if ids.duplicated().any():
        raise ValueError(
            f"{path.name}: column {user}: duplicate ids (e.g. {ids[ids.duplicated()].iloc[0]!r})"
        )
    covariates = frame.drop(columns=needed)
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "user_id": ids.to_numpy(),
                    "arm": arms.to_numpy(),
                    "treated": (arms != control).to_numpy(),
                }
            ),
            frame[list(outcomes)].reset_index(drop=True),
            covariates.reset_index(drop=True),
        ],
        axis=1,
    )
    return ShopData.from_tables(
        extras={"campaign": table},
        meta={
            "dataset": path.parent.name,
            "layout": "campaign",
            "source": str(path),
            "arms": arms.value_counts().to_dict(),
            "control": control,
            "outcomes": list(outcomes),
            "covariates": list(covariates.columns),
        },
    )
