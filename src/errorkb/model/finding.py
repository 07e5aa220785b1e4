"""A finding: one thing wrong (or worth a look) about one canon, with where and what to do."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, kw_only=True)
class Finding:
    severity: str
    code: str
    message: str
    canon_id: str = ""
    field: str = ""
    hint: str = ""
    file: str = ""
    line: int | None = None

    @property
    def where(self) -> str:
        return self.file + (f":{self.line}" if self.line else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
