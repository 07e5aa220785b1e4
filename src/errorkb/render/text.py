"""Terminal text from payloads (rich markup)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def findings_text(payload: dict[str, Any]) -> str:
    lines = []
    for f in payload["findings"]:
        where = f["file"] + (f":{f['line']}" if f["line"] else "")
        style = _SEVERITY_STYLE.get(f["severity"], "")
        head = f"[{style}]{f['severity']}[/] {escape(f['code'])}"
        subject = " ".join(x for x in (f["canon_id"], f["field"] and f"({f['field']})") if x)
        lines.append(f"{escape(where)}: {head} {escape(subject)}: {escape(f['message'])}")
        if f["hint"]:
            lines.append(f"    [dim]hint: {escape(f['hint'])}[/]")
    counts = payload["counts"]
    lines.append(f"{payload['checked']} canon(s) checked: {counts['error']} error(s), "
                 f"{counts['warning']} warning(s)")
    return "\n".join(lines)
