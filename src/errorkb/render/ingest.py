"""Ingest results as terminal text."""

from __future__ import annotations

from typing import Any

from rich.markup import escape


def ingest_text(payload: dict[str, Any]) -> str:
    lines = [f"[bold]{escape(payload['source'])}[/]: {len(payload['messages'])} message(s), "
             + ", ".join(f"{len(v)} {k.replace('_', ' ')}(s)" for k, v in payload["claims"].items())]
    for message in payload["messages"]:
        known = f" → {escape(message['canon'])}" if message["canon"] else " (no known canon)"
        lines.append(f"  message: {escape(message['text'])}{known}")
    if payload["kind"] == "merge_proposal":
        lines.append(f"\n[bold]Merge proposal for {escape(payload['target'])}[/]: "
                     f"{len(payload['new'])} new claim(s), {len(payload['disputed'])} disputed")
        for d in payload["disputed"]:
            lines.append(f"  [red]disputed[/] {escape(d['sentence'])}\n    [dim]{escape(d['reason'])}[/]")
        lines.append(escape(payload["proposal"]["diff"]))
    elif payload["kind"] == "draft":
        lines.append(f"\n[bold]Draft canon[/] (regex {escape(payload['regex'])}):\n"
                     f"{escape(payload['draft_yaml'])}")
        if payload["regex_also_matches"]:
            lines.append("[yellow]the proposed regex also matches examples of: "
                         f"{escape(', '.join(payload['regex_also_matches'][:10]))}[/]")
    else:
        lines.append("[yellow]No error message found to build a canon on.[/]")
    for path in payload.get("written", []):
        lines.append(f"wrote {escape(path)}")
    return "\n".join(lines)
