"""Short text for AI agents: what to avoid first, then what works, then what comes next."""

from __future__ import annotations

from typing import Any


def _rate(value: float | None) -> str:
    return f" (~{value:.0%})" if value is not None else ""


def agent_text(payload: dict[str, Any]) -> str:
    """A lookup payload in few tokens."""
    if not payload["matches"]:
        near = ", ".join(n["id"] for n in payload["nearest"]) or "none"
        return f"No known match. Nearest (not matches): {near}."
    out = []
    for m in payload["matches"]:
        out.append(f"{m['id']} (score {m['score']:.2f}): {m['root_cause']}")
        out.extend(f"AVOID: {d['action']} — {d['why_fails']}{_rate(d['fail_rate'])}"
                   for d in m["dead_ends"])
        for w in m["workarounds"]:
            when = f" [when: {w['condition']}]" if w["condition"] else ""
            out.append(f"DO: {w['action']}{_rate(w['success_rate'])}{when}: {w['how']}")
        if m["leads_to"]:
            out.append("NEXT: " + ", ".join(t["id"] for t in m["leads_to"]))
    return "\n".join(out)
