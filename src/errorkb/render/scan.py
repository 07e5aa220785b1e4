"""Scan reports as terminal text and as one self-contained HTML page."""

from __future__ import annotations

import html
from typing import Any

from rich.markup import escape

from errorkb.model import Canon
from errorkb.render.payloads import canon_summary


def scan_text(report: dict[str, Any], canons: dict[str, Canon], lang: str = "en") -> str:
    stats = report["stats"]
    lines = [f"[bold]{stats['lines']:,} lines[/], {stats['bytes'] / 1e6:.1f} MB, "
             f"{stats['events']:,} events looked at in {stats['seconds']:.2f}s"
             + (" [yellow](interrupted)[/]" if stats["interrupted"] else "")]
    if stats["long_lines_cut"]:
        lines.append(f"[yellow]{stats['long_lines_cut']} over-long line(s) were cut[/]")
    if not report["known"]:
        lines.append("[green]No known errors.[/]")
    for group in report["known"]:
        summary = canon_summary(canons[group["id"]], lang)
        first, last = group["first"], group["last"]
        span = f"lines {first['line']}–{last['line']}" if group["count"] > 1 else f"line {first['line']}"
        when = f", {first['time']} → {last['time']}" if first["time"] else ""
        lines.append(f"\n[bold]{group['count']} × {escape(group['id'])}[/] [dim]({span}{when})[/]")
        lines.append(f"  {escape(summary['signature'])}")
        if summary["dead_ends"]:
            lines.append(f"  [red]✗ don't:[/] {escape(summary['dead_ends'][0]['action'])}")
        if summary["workarounds"]:
            lines.append(f"  [green]✓ do:[/] {escape(summary['workarounds'][0]['action'])}")
        if group["captures"]:
            values = ", ".join(f"{c['value']} ({c['count']})" for c in group["captures"][:5])
            lines.append(f"  [dim]seen: {escape(values)}[/]")
    if report["unknown"]:
        lines.append("\n[bold]Unknown errors[/] (start a canon: errorkb new --from-scan REPORT "
                     "--template N)")
        for u in report["unknown"][:20]:
            lines.append(f"  {u['n']:>3}. {u['count']} × unknown: {escape(u['template'])}")
    return "\n".join(lines)


_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}code,pre{font:13px ui-monospace,monospace}
pre{background:#f5f5f5;padding:.5rem;overflow-x:auto;white-space:pre-wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:.75rem 1rem;margin:.75rem 0}
.bad{color:#b00020}.good{color:#1b5e20}.muted{color:#666}
svg rect{fill:#c62828}
table{border-collapse:collapse}td{padding:.2rem .5rem;border-bottom:1px solid #eee}
"""


def _timeline_svg(timeline: dict[str, int]) -> str:
    if not timeline:
        return "<p class=muted>No timestamps found.</p>"
    items = list(timeline.items())
    peak = max(count for _, count in items)
    width = max(300, 8 * len(items))
    bars = []
    for i, (minute, count) in enumerate(items):
        height = max(2, round(100 * count / peak))
        bars.append(f'<rect x="{i * 8}" y="{100 - height}" width="6" height="{height}">'
                    f"<title>{html.escape(minute)}: {count}</title></rect>")
    return (f'<svg viewBox="0 0 {width} 100" width="100%" height="120" role="img" '
            f'aria-label="known errors per minute">{"".join(bars)}</svg>'
            f'<p class=muted>{html.escape(items[0][0])} → {html.escape(items[-1][0])}, '
            f"peak {peak} per minute</p>")


def scan_html(report: dict[str, Any], canons: dict[str, Canon], lang: str = "en") -> str:
    e = html.escape
    stats = report["stats"]
    parts = [f"<!doctype html><html lang={lang}><meta charset=utf-8>"
             "<meta name=viewport content='width=device-width,initial-scale=1'>"
             f"<title>errorkb scan</title><style>{_STYLE}</style><body>",
             "<h1>errorkb scan report</h1>",
             f"<p>{e(', '.join(report['sources']))}: {stats['lines']:,} lines, "
             f"{stats['bytes'] / 1e6:.1f} MB, {len(report['known'])} known error(s), "
             f"{len(report['unknown'])} unknown template(s).</p>",
             "<h2>Known errors over time</h2>", _timeline_svg(report["timeline"]),
             "<h2>Known errors</h2>"]
    if not report["known"]:
        parts.append("<p class=good>No known errors.</p>")
    for group in report["known"]:
        c = canon_summary(canons[group["id"]], lang)
        dead = "".join(f"<li class=bad>✗ {e(d['action'])}<br><span class=muted>"
                       f"{e(d['why_fails'])}</span></li>" for d in c["dead_ends"])
        works = "".join(f"<li class=good>✓ {e(w['action'])}<pre>{e(w['how'])}</pre></li>"
                        for w in c["workarounds"])
        seen = ", ".join(f"{e(v['value'])} ({v['count']})" for v in group["captures"])
        parts.append(
            f"<div class=card><h3>{group['count']} × {e(c['signature'])}</h3>"
            f"<p class=muted><code>{e(group['id'])}</code> · first line {group['first']['line']}"
            f" {e(group['first']['time'] or '')} · last line {group['last']['line']} "
            f"{e(group['last']['time'] or '')}{' · seen: ' + seen if seen else ''}</p>"
            f"<p>{e(c['root_cause'])}</p><h4>Don't try</h4><ul>{dead}</ul>"
            f"<h4>What works</h4><ul>{works}</ul><details><summary>Example</summary>"
            f"<pre>{e(group['example'])}</pre></details></div>")
    parts.append("<h2>Unknown errors</h2>")
    if report["unknown"]:
        rows = "".join(f"<tr><td>{u['n']}</td><td>{u['count']} ×</td><td><code>"
                       f"{e(u['template'])}</code></td></tr>" for u in report["unknown"])
        parts.append(f"<table>{rows}</table>")
    else:
        parts.append("<p class=muted>None.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
