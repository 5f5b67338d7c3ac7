"""The ``ad clicks`` layout: one row per ad impression with a 0/1 click label and categorical
fields (Avazu's ``train.csv`` is one: ``id,click,hour,C1,banner_pos,site_*,app_*,device_*,
C14..C21``, every field an anonymised or hashed category).

Every column but the label and the ``drop`` ones is read as a string category (ids such as
Avazu's 20-digit ``id`` would lose digits as numbers). A missing label column or a label that
is not 0/1 raises ``SourceError`` naming the file, the column and the first bad rows (row 1 is
the first record after the header).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopintent.data.sources.reading import SourceError

EXAMPLES = 5


def load(source: str | Path, label: str = "click", drop: tuple[str, ...] = ("id",)) -> pd.DataFrame:
    """The impressions of ``source`` (a CSV file, or a folder holding exactly one): the
    ``label`` as int8 and every other column but ``drop`` as str."""
    path = Path(source)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if len(files) != 1:
            raise SourceError(
                f"{path}: expected one .csv file of ad impressions, found {len(files)}"
            )
        path = files[0]
    if not path.is_file():
        raise SourceError(f"{path}: no such file of ad impressions")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as err:
        raise SourceError(f"{path}: cannot be read as CSV ({err})") from err
    if label not in frame.columns:
        raise SourceError(
            f"{path}: no label column {label!r}; the file has {', '.join(frame.columns)}"
        )
    bad = ~frame[label].isin(["0", "1"]).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)[:EXAMPLES] + 1
        values = ", ".join(repr(v) for v in frame[label].to_numpy()[bad][:EXAMPLES])
        raise SourceError(
            f"{path}: column {label!r} must be 0 or 1; {int(bad.sum())} rows are not (rows "
            f"{', '.join(map(str, rows))}: {values})"
        )
    frame = frame.drop(columns=[c for c in drop if c in frame.columns])
    frame[label] = frame[label].astype(np.int8)
    return frame


__all__ = ["load"]
