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


def _rate(value: float | None, label: str) -> str:
    return f" [dim]({label} {value:.0%}, estimated)[/]" if value is not None else ""


def canon_text(c: dict[str, Any], zh: bool = False) -> list[str]:
    """Dead ends first, then workarounds, then what comes next."""
    head = {"avoid": "不要尝试" if zh else "Don't try", "do": "可行的办法" if zh else "What works",
            "next": "接下来常见" if zh else "What tends to come next",
            "confused": "容易混淆" if zh else "Often confused with"}
    lines = [f"  {escape(c['signature'])}", f"  [dim]{escape(c['root_cause'])}[/]"]
    if c["dead_ends"]:
        lines.append(f"  [bold red]{head['avoid']}:[/]")
        for d in c["dead_ends"]:
            lines.append(f"    ✗ {escape(d['action'])}{_rate(d['fail_rate'], 'fails')}")
            if d["why_fails"]:
                lines.append(f"      [dim]{escape(d['why_fails'])}[/]")
    if c["workarounds"]:
        lines.append(f"  [bold green]{head['do']}:[/]")
        for w in c["workarounds"]:
            cond = f" [dim]— {escape(w['condition'])}[/]" if w["condition"] else ""
            lines.append(f"    ✓ {escape(w['action'])}{_rate(w['success_rate'], 'works')}{cond}")
            if w["how"]:
                lines.extend(f"      {escape(part)}" for part in w["how"].splitlines())
    if c["leads_to"]:
        lines.append(f"  [bold]{head['next']}:[/] " + ", ".join(escape(t["id"]) for t in c["leads_to"]))
    if c["frequently_confused_with"]:
        lines.append(f"  [bold]{head['confused']}:[/]")
        lines.extend(f"    {escape(f['id'])}: {escape(f['distinction'])}"
                     for f in c["frequently_confused_with"])
    return lines


def _parts(parts: dict[str, float]) -> str:
    return " + ".join(f"{k} {v:+.2f}" for k, v in parts.items())


def lookup_text(payload: dict[str, Any], zh: bool = False) -> str:
    lines: list[str] = []
    for m in payload["matches"]:
        captured = f"  captured: {', '.join(m['captures'])}" if m["captures"] else ""
        lines.append(f"[bold]{escape(m['id'])}[/]  score {m['score']:.2f} "
                     f"[dim]({_parts(m['score_parts'])})[/]{escape(captured)}")
        lines.extend(canon_text(m, zh))
        lines.append("")
    if not payload["matches"]:
        lines.append("[yellow]No known match.[/]" if not zh else "[yellow]没有已知的匹配。[/]")
        for n in payload["nearest"]:
            lines.append(f"  nearest (not a match): {escape(n['id'])}  score {n['score']:.2f}  "
                         f"[dim]{escape(n['signature'])}[/]")
    return "\n".join(lines).rstrip()
