"""The ``support messages`` layout: shoppers' messages to customer service, one row each, with
the intent (the team or workflow a message is routed to) and, where the source has them, a
broader ``category`` and an example agent ``response``.

Fields (canonical name: the source column names tried, in order, unless ``columns`` maps them):

- ``text`` (required): the message (Bitext's ``instruction``);
- ``intent`` (required): its routing label;
- ``category`` (optional): a group of intents (routing to a team rather than a workflow);
- ``response`` (optional): the agent's reply, which answer retrieval ranks;
- ``message_id`` (optional): else ``<file stem>:<row>``.

What a table can serve follows from the columns present and non-empty
(``support_capabilities``), never from the dataset's name. Responses may hold newlines inside
quotes (Bitext's do), so the file is read with pandas' CSV parser and rows are numbered as
records: row 1 is the first record after the header. A missing column or an empty required
value raises ``SourceError`` naming the file, the rows and the column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopintent.data.sources.reading import SourceError

LAYOUT = "support-messages"
#: canonical field -> source column names tried in order (Bitext's release first)
FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("instruction", "text", "message", "utterance"),
    "intent": ("intent", "label"),
    "category": ("category",),
    "response": ("response", "answer", "reply"),
    "message_id": ("message_id", "id"),
}
REQUIRED = ("text", "intent")
COLUMNS = ("message_id", "text", "intent", "category", "response")
EXAMPLES = 5


def _source_file(source: Path) -> Path:
    source = Path(source)
    if source.is_file():
        return source
    if not source.is_dir():
        raise SourceError(f"{source}: no such file or folder of support messages")
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in (".csv", ".parquet"))
    if len(files) != 1:
        found = ", ".join(p.name for p in files) or "none"
        raise SourceError(
            f"{source}: expected one .csv or .parquet file of support messages, found {found}"
        )
    return files[0]


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, OSError) as err:  # pandas' ParserError is a ValueError
        raise SourceError(f"{path}: cannot be read as a table of support messages ({err})") from err


def _mapping(path: Path, found: list[str], columns: dict[str, str] | None) -> dict[str, str]:
    """canonical field -> source column; an explicit mapping wins, then ``FIELDS``' names."""
    columns = dict(columns or {})
    unknown = set(columns) - set(FIELDS)
    if unknown:
        raise ValueError(
            f"support messages: unknown field(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(FIELDS)}"
        )
    out = {}
    for field, names in FIELDS.items():
        if field in columns:
            if columns[field] not in found:
                raise SourceError(
                    f"{path}: column {columns[field]!r} (mapped to {field}) is missing; "
                    f"the file has {', '.join(found)}"
                )
            out[field] = columns[field]
            continue
        name = next((n for n in names if n in found), None)
        if name is not None:
            out[field] = name
        elif field in REQUIRED:
            raise SourceError(
                f"{path}: no {field} column (tried {', '.join(names)}; map another with "
                f"columns={{'{field}': ...}}); the file has {', '.join(found)}"
            )
    return out


def load(source: str | Path, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per message: ``message_id``, ``text``, ``intent``, ``category``, ``response``
    (str; the optional ones null where the source lacks them). ``source``: a file, or a folder
    holding exactly one .csv/.parquet; ``columns`` maps canonical fields to source columns."""
    path = _source_file(Path(source))
    raw = _read(path)
    mapping = _mapping(path, [str(c) for c in raw.columns], columns)
    out = pd.DataFrame(index=raw.index)
    for field in COLUMNS:
        if field in mapping:
            s = raw[mapping[field]].astype("string").str.strip()
            out[field] = s.where(s.notna() & s.ne(""), None).astype(object)
        else:
            out[field] = None
    for field in REQUIRED:
        empty = out[field].isna().to_numpy()
        if empty.any():
            rows = [int(i) + 1 for i in empty.nonzero()[0][:EXAMPLES]]
            more = ", ..." if empty.sum() > EXAMPLES else ""
            raise SourceError(
                f"{path}: column {mapping[field]!r} ({field}) is empty in {int(empty.sum())} "
                f"row(s) (rows {', '.join(map(str, rows))}{more}"
                "; row 1 is the first record after the header): every message needs one"
            )
    rows = pd.Series(range(1, len(out) + 1), index=out.index).astype(str)
    ids = out["message_id"]
    out["message_id"] = ids.where(ids.notna(), path.stem + ":" + rows)
    dup = out["message_id"].duplicated(keep=False).to_numpy()
    if "message_id" in mapping and dup.any():
        first = out.loc[dup, "message_id"].iloc[0]
        raise SourceError(
            f"{path}: column {mapping['message_id']!r} (message_id) repeats {first!r} on "
            f"{int(dup.sum())} rows: an id names one message"
        )
    out.attrs["source"] = str(path)
    return out.reset_index(drop=True)[list(COLUMNS)]


def support_capabilities(messages: pd.DataFrame | None) -> dict[str, bool]:
    """What a support-message table can serve: ``routing`` (texts with >= 2 intents),
    ``categories`` and ``answers`` (a response on every message)."""
    if messages is None or not len(messages):
        return {"routing": False, "categories": False, "answers": False}
    return {
        "routing": bool(messages["intent"].nunique() >= 2),
        "categories": bool(messages["category"].notna().all()),
        "answers": bool(messages["response"].notna().all()),
    }


__all__ = ["COLUMNS", "FIELDS", "LAYOUT", "load", "support_capabilities"]
