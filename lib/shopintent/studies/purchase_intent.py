"""Notebook 05's steps: its settings by profile (the sequence models' epoch limit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shopintent.studies.settings import StudySettings


@dataclass(frozen=True)
class Settings(StudySettings):
    """``epochs``: the LSTM and hybrid's epoch limit (early stopping on validation decides)."""

    epochs: int

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        "smoke": {"epochs": 6},
        "default": {"epochs": 8},
        "full": {"epochs": 20},
    }
