"""Will a pandas prepare fit in memory? An estimate from the source's size, checked before reading.

A pandas prepare holds the whole log several times over (parsed columns, checks, sessions, the
Arrow copy it writes), so a source too large for the machine would read for minutes and then be
killed. ``check_fits`` estimates the peak from the source's bytes (or the synthetic shop's events)
and stops at once with a message naming ``--engine spark``. ``$SHOPINTENT_IGNORE_MEMORY_CHECK=1``
(or ``prepare(..., check_memory=False)``, ``--ignore-memory-check``) skips it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: the environment variable that turns the check off
IGNORE_ENV = "SHOPINTENT_IGNORE_MEMORY_CHECK"
# Measured with benchmarks/bench_prepare_memory.py (peak RSS of a pandas prepare minus the RSS
# after imports) on the ../shared/data samples stacked 100 and 300 times with shifted keys, on 2
# shared cores (load 5-7), 2026-12-07. Peak MiB at 100x -> 300x copies (source MiB):
#   rees46 CSV        196 -> 369  (12.9 -> 38.9)   slope 6.7 B/B   (15.2 and 9.5 B/B overall)
#   rees46 CSV.gz     195 -> 347  (2.2 -> 6.6)     the CSV compresses 5.9x (38.9 / 6.6 MiB)
#   taobao CSV        261 -> 709  (16.3 -> 49.9)   slope 13.3 B/B
#   diginetica CSVs   493 -> 1363 (40.5 -> 119.8)  slope 11.0 B/B
#   clicks (views)    267 -> 742  (14.0 -> 42.6)   slope 16.6 B/B
#   orders UCI CSV    409 (43.8)                   9.3 B/B overall; as Parquet 463 (3.5): 132 B/B
#   synthetic, pandas 195 MiB at 2e5 events, 527 MiB at 1e6 (553 B/event; the full profile's
#                     in-memory generate: 2.9 GB at 5e6, 580 B/event)
# The factors are the slopes (what grows with the source), rounded up; overheads of ~0.1-0.2 GB
# do not matter next to the gigabytes this check is about.
#: peak RAM per byte of plain (uncompressed, delimited) source, per layout
RAM_PER_BYTE = {"rees46": 7.0, "taobao": 14.0, "diginetica": 12.0, "clicks": 17.0, "orders": 10.0}
#: bytes of plain text per byte of a compressed file (gzip on the rees46 CSV; zip assumed alike)
INFLATION = {".gz": 5.9, ".zip": 5.9}
#: peak RAM per byte of a Parquet source (compressed and dictionary-encoded: UCI order lines)
PARQUET_RAM_PER_BYTE = 130.0
#: peak RAM per event of the synthetic shop drawn in memory and saved (pandas engine)
SYNTHETIC_BYTES_PER_EVENT = 600
#: the share of the free memory the estimate may use: the rest is for everything else running
HEADROOM = 0.9


class TooBigForPandas(ValueError):
    """A pandas prepare that would not fit in this machine's free memory."""


def available_bytes() -> int | None:
    """Memory free for a new process now (psutil, else /proc/meminfo MemAvailable); None where
    neither says."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [source]


def estimate(layout: str, source: str | Path | None = None, n_events: int | None = None) -> int:
    """Peak bytes of a pandas prepare of ``source`` in ``layout`` (or of the synthetic shop of
    ``n_events``): each file's bytes × the layout's RAM per byte, a compressed file's scaled up by
    its inflation, a Parquet file's by the Parquet factor."""
    if n_events is not None:
        return int(n_events * SYNTHETIC_BYTES_PER_EVENT)
    per_byte = RAM_PER_BYTE.get(layout, max(RAM_PER_BYTE.values()))
    total = 0.0
    for file in _files(Path(source)):
        size = file.stat().st_size
        suffix = file.suffix.lower()
        if suffix == ".parquet":
            total += size * PARQUET_RAM_PER_BYTE
        else:
            total += size * INFLATION.get(suffix, 1.0) * per_byte
    return int(total)


def _size(n: float) -> str:
    """Bytes as people read them: GB from 1 GB up, else MB or kB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}" if unit == "GB" else f"{n / scale:.0f} {unit}"
    return f"{n / 1e3:.0f} kB"


def check_fits(
    dataset: str,
    source: str | Path | None = None,
    *,
    layout: str | None = None,
    n_events: int | None = None,
) -> None:
    """Raise ``TooBigForPandas`` before anything is read when the estimated peak of a pandas
    prepare exceeds the memory free (less a margin); silent when it fits, when the free memory
    is unknown, or when ``$SHOPINTENT_IGNORE_MEMORY_CHECK`` is set (to anything but 0)."""
    if os.environ.get(IGNORE_ENV, "").strip() not in ("", "0"):
        return
    free = available_bytes()
    if free is None:
        return
    need = estimate(layout or dataset, source, n_events)
    if need <= HEADROOM * free:
        return
    what = f"{n_events:,} events" if n_events is not None else _size(_source_bytes(Path(source)))
    raise TooBigForPandas(
        f"{dataset}: the source ({what}) needs about {_size(need)} in pandas, this machine has "
        f"{_size(free)} free; prepare it with --engine spark (or set {IGNORE_ENV}=1 to try anyway)"
    )


def _source_bytes(source: Path) -> int:
    return sum(f.stat().st_size for f in _files(source))
