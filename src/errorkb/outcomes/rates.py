"""Effective rates from outcome reports: a Beta posterior with the canon's stated rate as prior.

The stated rate counts as `PRIOR_WEIGHT` reports (10): a workaround stated at 0.9 is
Beta(9, 1) before any report; ten failures in a row make it Beta(9, 11) — 0.45. A rate the
canon does not state starts at 0.5. Dead ends state how often they *fail*; a report that a dead
end "worked" counts against its fail rate.
"""

from __future__ import annotations

from dataclasses import dataclass

PRIOR_WEIGHT = 10.0
UNSTATED = 0.5


@dataclass(frozen=True)
class Tally:
    worked: int = 0
    failed: int = 0

    @property
    def reports(self) -> int:
        return self.worked + self.failed


def effective_rate(stated: float | None, successes: int, failures: int) -> float:
    """Posterior mean of Beta(prior · stated + successes, prior · (1 − stated) + failures)."""
    prior = UNSTATED if stated is None else stated
    alpha = PRIOR_WEIGHT * prior + successes
    beta = PRIOR_WEIGHT * (1.0 - prior) + failures
    return alpha / (alpha + beta)


def workaround_rate(stated: float | None, tally: Tally) -> float:
    return effective_rate(stated, tally.worked, tally.failed)


def dead_end_fail_rate(stated: float | None, tally: Tally) -> float:
    """A dead end fails when a report says it did not work."""
    return effective_rate(stated, tally.failed, tally.worked)
