"""Notebook 02's settings by profile: how much of the shop's text the shop BERT learns from in a
smoke run, whether Home Depot's catalogue is embedded, and the Home Depot search task's sizes.

The models' own sizes by profile (shop BERT, shop GPT, the fine-tuned dual encoder) live with
the models (``models.text``), since tests and benchmarks build them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shopintent.studies.settings import StudySettings


@dataclass(frozen=True)
class Settings(StudySettings):
    """``corpus_sample``: texts kept of the pretraining corpus (a seeded sample; None: all);
    ``embed_homedepot``: whether Home Depot's 66k texts are embedded (a few minutes); the Home
    Depot task's test and validation queries and catalogue size (None: every product)."""

    corpus_sample: int | None
    embed_homedepot: bool
    homedepot_test: int
    homedepot_validation: int
    homedepot_items: int | None

    BY_PROFILE: ClassVar[dict[str, dict]] = {
        # seconds, not minutes: a seeded sample of the shop's text
        "smoke": {
            "corpus_sample": 5_000,
            "embed_homedepot": False,
            "homedepot_test": 100,
            "homedepot_validation": 50,
            "homedepot_items": 1_500,
        },
        "default": {
            "corpus_sample": None,
            "embed_homedepot": True,
            "homedepot_test": 500,
            "homedepot_validation": 250,
            "homedepot_items": 10_000,
        },
        "full": {
            "corpus_sample": None,
            "embed_homedepot": True,
            "homedepot_test": 2_000,
            "homedepot_validation": 500,
            "homedepot_items": None,
        },
    }

    @property
    def homedepot_sizes(self) -> dict:
        """Keyword arguments of ``models.search.protocols.homedepot_task``."""
        return {
            "n_test": self.homedepot_test,
            "n_validation": self.homedepot_validation,
            "n_items": self.homedepot_items,
        }


__all__ = ["Settings"]
