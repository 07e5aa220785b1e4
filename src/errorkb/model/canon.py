"""The canon: one known error, field for field the seed's exchange shape plus our additions.

Plain typed data, no I/O. Field order here is the order in YAML files and in exports.
Defaults are the values the seed uses for "nothing said"; YAML files leave defaults out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")

RESOLVABLE_VALUES = ("true", "false", "partial")
VERSION_STATUSES = ("active", "deprecated", "removed", "fixed", "changed")
# `estimated` and `draft` say the numbers are our estimate; the others say who vouches for them.
VERIFICATION_TIERS = ("draft", "estimated", "ai_generated", "auto_generated", "community",
                      "human_reviewed", "verified")
ESTIMATE_TIERS = ("draft", "estimated")


@dataclass(frozen=True, kw_only=True)
class Version:
    version: str
    introduced: str | None = None
    deprecated: str | None = None
    removed: str | None = None
    behavior_change: str | None = None
    status: str = "active"


@dataclass(frozen=True, kw_only=True)
class DeadEnd:
    """A fix that looks right and fails."""

    action: str
    action_zh: str = ""
    why_fails: str = ""
    why_fails_zh: str = ""
    fail_rate: float | None = None
    condition: str = ""
    condition_zh: str = ""
    sources: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Workaround:
    """A fix that works, under its condition."""

    action: str
    action_zh: str = ""
    success_rate: float | None = None
    how: str = ""
    how_zh: str = ""
    condition: str = ""
    condition_zh: str = ""
    sources: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Transition:
    """An edge to another canon: what comes next, or what came before."""

    error_id: str
    probability: float | None = None
    condition: str = ""
    condition_zh: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Confusion:
    """Another canon this one is mistaken for, and how to tell them apart."""

    error_id: str
    distinction: str = ""
    distinction_zh: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TransitionGraph:
    leads_to: list[Transition] = field(default_factory=list)
    preceded_by: list[Transition] = field(default_factory=list)
    frequently_confused_with: list[Confusion] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Canon:
    """One known error. `id` is `domain/slug`; the file is `canon/<domain>/<slug>.yaml`."""

    id: str
    signature: str
    signature_zh: str = ""
    regex: str
    domain: str
    category: str = ""
    subcategory: str | None = None
    root_cause: str = ""
    root_cause_type: str = ""
    root_cause_zh: str = ""
    versions: list[Version] = field(default_factory=list)
    os_specific: dict[str, str] = field(default_factory=dict)
    dead_ends: list[DeadEnd] = field(default_factory=list)
    workarounds: list[Workaround] = field(default_factory=list)
    # Exchange field: Chinese of each workaround's action. Our canons say it per workaround
    # (`workarounds[].action_zh`); this list is kept only when it says something else.
    workarounds_zh: list[str] = field(default_factory=list)
    transition_graph: TransitionGraph = field(default_factory=TransitionGraph)
    official_doc_url: str | None = None
    official_doc_section: str | None = None
    error_code: str | None = None
    verification_tier: str = "draft"
    confidence: float | None = None
    fix_success_rate: float | None = None
    resolvable: str = "true"
    first_seen: str | None = None
    last_confirmed: str | None = None
    last_updated: str | None = None
    evidence_count: int = 0
    tags: list[str] = field(default_factory=list)
    locale: str = "en"
    aliases: list[str] = field(default_factory=list)
    # Our additions.
    examples: list[str] = field(default_factory=list)
    case_sensitive: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.id.split("/", 1)[1]

    def all_sources(self) -> list[str]:
        """Every source URL cited by a dead end or workaround, first mention first."""
        seen: dict[str, None] = {}
        items: list[DeadEnd | Workaround] = [*self.dead_ends, *self.workarounds]
        for item in items:
            for url in item.sources:
                seen.setdefault(url, None)
        return list(seen)

    def effective_workarounds_zh(self) -> list[str]:
        """The seed's `workarounds_zh`: stated, or derived from each workaround's `action_zh`."""
        if self.workarounds_zh:
            return list(self.workarounds_zh)
        derived = [w.action_zh for w in self.workarounds]
        return derived if any(derived) else []
