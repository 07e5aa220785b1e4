"""Outcomes: "this workaround worked / failed" reports, stored append-only, turned into
effective rates at read time (see `rates.py` for the prior).

Two stores with one interface: SQLite (`sqlite:///path`, the default) and PostgreSQL
(`postgresql://...`, for several servers sharing one database).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from errorkb.errors import InputError
from errorkb.outcomes.rates import PRIOR_WEIGHT, Tally, dead_end_fail_rate, workaround_rate
from errorkb.outcomes.store import Report, SqliteOutcomeStore


class OutcomeStore(Protocol):
    def append(self, report: Report) -> bool: ...
    def tallies(self, canon_id: str) -> dict[tuple[str, int], Tally]: ...
    def count(self) -> int: ...
    def export(self) -> Iterator[Report]: ...
    def create_token(self, name: str) -> str: ...
    def list_tokens(self) -> list[tuple[str, str, str | None]]: ...
    def revoke_token(self, name: str) -> bool: ...
    def token_name(self, token: str) -> str | None: ...
    def close(self) -> None: ...


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///path` URL, or None for another kind of URL."""
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


def open_outcome_store(url: str, *, create: bool) -> OutcomeStore | None:
    """The store a URL names. A SQLite file that does not exist yet is created only when
    `create` (a write is coming); otherwise there is nothing to read and None is returned."""
    path = sqlite_path(url)
    if path is not None:
        return SqliteOutcomeStore(path) if create or path.exists() else None
    if url.startswith(("postgresql://", "postgres://")):
        from errorkb.outcomes.postgres import PostgresOutcomeStore

        return PostgresOutcomeStore(url)
    raise InputError(f"unknown database URL {url!r}", "use sqlite:///path or postgresql://...")


__all__ = ["PRIOR_WEIGHT", "OutcomeStore", "Report", "SqliteOutcomeStore", "Tally",
           "dead_end_fail_rate", "open_outcome_store", "sqlite_path", "workaround_rate"]
