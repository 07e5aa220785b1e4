"""Settings, declared once and read once at the edge: flags > ERRORKB_* environment > defaults.

Lower layers never read the environment; faces build a `Settings` and pass its values down.
Every setting is listed in `SETTINGS` with its help; docs/settings.md is checked against it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import errorkb
from errorkb.errors import InputError


def bundled_corpus_dir() -> Path:
    """The corpus shipped with errorkb: inside the wheel, or at the repo root when editable."""
    packaged = Path(errorkb.__file__).parent / "canon"
    if packaged.is_dir():
        return packaged
    return Path(errorkb.__file__).resolve().parents[2] / "canon"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "errorkb"


@dataclass(frozen=True)
class Settings:
    corpus: tuple[Path, ...] = field(default=(), metadata={
        "help": "extra canon folders or exchange files, stacked after the bundled corpus"})
    no_bundled: bool = field(default=False, metadata={"help": "leave the bundled corpus out"})
    index: Path | None = field(default=None, metadata={
        "help": "index file (SQLite); default: a file in the cache folder named by the corpus"})
    cache_dir: Path = field(default_factory=default_cache_dir, metadata={
        "help": "where indexes are kept (default: $XDG_CACHE_HOME/errorkb)"})
    lang: str = field(default="en", metadata={"help": "answer language: en or zh"})
    db: str = field(default="", metadata={
        "help": "outcome store: sqlite:///path or postgresql://... "
                "(default: $XDG_DATA_HOME/errorkb/outcomes.sqlite); a PostgreSQL database "
                "also holds the published corpus"})
    poll_seconds: float = field(default=5.0, metadata={
        "help": "how often `errorkb serve` with a PostgreSQL database checks for a newer "
                "corpus version, besides LISTEN/NOTIFY"})

    def db_url(self) -> str:
        """The outcome store's URL: `db`, or a SQLite file in the user's data folder."""
        if self.db:
            return self.db
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return f"sqlite:///{Path(base) / 'errorkb' / 'outcomes.sqlite'}"

    def corpus_db(self) -> str | None:
        """The PostgreSQL URL the corpus is published to and served from, or None when the
        corpus is read from folders."""
        return self.db if self.db.startswith(("postgresql://", "postgres://")) else None

    def corpus_dirs(self) -> tuple[Path, ...]:
        bundled = () if self.no_bundled else (bundled_corpus_dir(),)
        return bundled + self.corpus


SETTINGS = {f.name: f.metadata["help"] for f in fields(Settings)}
ENV_PREFIX = "ERRORKB_"


def positive_seconds(raw: str, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600:
        raise InputError(f"{where}: {raw!r} is not a number of seconds from 0.1 to 3600",
                         "e.g. 5")
    return value


def from_environment(environ: Mapping[str, str], base: Settings | None = None) -> Settings:
    """Settings with ERRORKB_* values applied; flags are applied after this by the face."""
    settings = base or Settings()
    changes: dict[str, object] = {}
    for name in SETTINGS:
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if name == "corpus":
            changes[name] = tuple(Path(p) for p in raw.split(os.pathsep) if p)
        elif name == "no_bundled":
            changes[name] = raw.strip().lower() in ("1", "true", "yes")
        elif name in ("index", "cache_dir"):
            changes[name] = Path(raw)
        elif name == "poll_seconds":
            changes[name] = positive_seconds(raw, ENV_PREFIX + name.upper())
        else:
            changes[name] = raw
    return replace(settings, **changes)  # type: ignore[arg-type]
