"""The one regex rule every part shares: RE2 syntax, case-insensitive unless a canon opts out.

RE2 runs in time linear in the input for every pattern, so no canon regex can backtrack
catastrophically, whatever its author wrote. The validator, the importer and the matcher all
compile through `compile_regex`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeAlias

import re2

RegexError = re2.error
Pattern: TypeAlias = Any  # google-re2's compiled pattern (re2._Regexp), untyped


def _options(case_sensitive: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False
    options.max_mem = 8 << 20
    return options


_INSENSITIVE = _options(False)
_SENSITIVE = _options(True)


@lru_cache(maxsize=8192)
def compile_regex(pattern: str, case_sensitive: bool = False) -> Pattern:
    """Compile under RE2; raises `RegexError` with RE2's reason when the syntax is not RE2's."""
    return re2.compile(pattern, _SENSITIVE if case_sensitive else _INSENSITIVE)


def regex_problem(pattern: str, case_sensitive: bool = False) -> str | None:
    """Why a pattern cannot be used, or None when it compiles."""
    try:
        compile_regex(pattern, case_sensitive)
    except RegexError as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode() if isinstance(reason, bytes) else str(reason)
    return None
