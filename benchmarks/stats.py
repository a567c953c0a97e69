"""Medians and spreads, and how they are written."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A median with its spread: the interquartile range of many samples, or lowest to highest of a few rounds."""

    median: float
    low: float
    high: float
    count: int

    def show(self, digits: int = 1, unit: str = "") -> str:
        """`median [low-high]unit`, or the median alone when there was one sample."""
        if self.count < 2:
            return f"{self.median:,.{digits}f}{unit}"
        return f"{self.median:,.{digits}f}{unit} [{self.low:,.{digits}f}-{self.high:,.{digits}f}]"


def percentile(samples: Sequence[float], share: float) -> float:
    """The sample at this share of the sorted samples (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def spread(samples: Sequence[float]) -> Figure:
    """Median and interquartile range: for many samples of one quantity."""
    return Figure(statistics.median(samples), percentile(samples, 0.25), percentile(samples, 0.75), len(samples))


def rounds(samples: Sequence[float]) -> Figure:
    """Median and lowest to highest: for one figure per round over a few rounds."""
    return Figure(statistics.median(samples), min(samples), max(samples), len(samples))
