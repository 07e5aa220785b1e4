"""The JSON payloads every face returns. Terminal text is rendered from these, never beside them."""

from __future__ import annotations

from typing import Any

from errorkb.errors import ErrorkbError
from errorkb.model import Finding
from errorkb.validate import summarize


def error_payload(exc: ErrorkbError) -> dict[str, Any]:
    """The one error body: {"error": {"code", "message", "hint"}}."""
    return {"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}


def findings_payload(findings: list[Finding], checked: int) -> dict[str, Any]:
    return {"checked": checked, "counts": summarize(findings),
            "findings": [f.to_dict() for f in findings]}
