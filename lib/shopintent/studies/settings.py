"""One settings shape for every study: a frozen dataclass whose
``for_profile(profile, **overrides)`` gives the knobs that vary by profile (sizes, budgets,
epochs), so a notebook reads them from one object instead of indexing dictionaries by
``PROFILE`` in its cells.

A subclass lists its values per profile in ``BY_PROFILE``; an override of ``None`` keeps the
profile's value, which is how a notebook parameter says "None: by profile".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from shopintent.config import PROFILES


def check_profile(profile: str) -> str:
    """``profile`` if it is one of ``config.PROFILES``, else a ValueError naming the valid ones."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}")
    return profile


@dataclass(frozen=True)
class StudySettings:
    """Base of the studies' ``Settings``: ``BY_PROFILE[profile]`` holds the field values."""

    BY_PROFILE: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def for_profile(cls, profile: str, **overrides):
        """The profile's settings; an override replaces a field unless it is None."""
        values = dict(cls.BY_PROFILE[check_profile(profile)])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


__all__ = ["StudySettings", "check_profile"]
