"""Helpers ``exhibitqa bench`` and its scaling runs (``eval.scale``) both report with."""

from __future__ import annotations

from pathlib import Path


def quantile_ms(samples: list[float], q: float) -> float:
    """The sample at quantile ``q`` (0-1, nearest rank, no interpolation) of times in seconds,
    in milliseconds to 0.1; 0.0 for no samples."""
    ordered = sorted(samples)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def disk_mb(path: Path) -> float:
    """Size of the files under ``path``, in MiB to 0.1."""
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1048576, 1)
