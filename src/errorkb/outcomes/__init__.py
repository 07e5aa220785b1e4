"""Outcomes: "this workaround worked / failed" reports, stored append-only, turned into
effective rates at read time (see `rates.py` for the prior)."""

from errorkb.outcomes.rates import PRIOR_WEIGHT, Tally, dead_end_fail_rate, workaround_rate
from errorkb.outcomes.store import Report, SqliteOutcomeStore

__all__ = ["PRIOR_WEIGHT", "Report", "SqliteOutcomeStore", "Tally", "dead_end_fail_rate",
           "workaround_rate"]
