"""`make_canon(**overrides)` over one valid record, and helpers to write canon files."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from errorkb.model import Canon, DeadEnd, Workaround
from errorkb.records import dump_canon

SOURCE = "https://man7.org/linux/man-pages/man7/tcp.7.html"


def make_canon(**overrides: Any) -> Canon:
    base = Canon(
        id="demo/widget-timeout",
        signature="widget: request to port 8080 timed out after 30s",
        signature_zh="widget：对端口 8080 的请求在 30 秒后超时",
        regex=r"widget: request to port (\d+) timed out",
        domain="demo",
        category="network_error",
        root_cause="The widget server did not answer in time.",
        root_cause_zh="widget 服务器没有及时应答。",
        dead_ends=[DeadEnd(action="Restart the client", action_zh="重启客户端",
                           why_fails="The server is slow, not the client.",
                           why_fails_zh="慢的是服务器，不是客户端。", fail_rate=0.8,
                           sources=[SOURCE])],
        workarounds=[Workaround(action="Raise the server's worker count",
                                action_zh="增加服务器的工作进程数", success_rate=0.7,
                                how="Set `workers = 8` in widget.toml and restart the server.",
                                how_zh="在 widget.toml 中设置 `workers = 8` 并重启服务器。",
                                sources=[SOURCE])],
        verification_tier="estimated",
        first_seen="2024-01-01", last_confirmed="2025-01-01", last_updated="2025-02-01",
        evidence_count=1,
        examples=["widget: request to port 9090 timed out after 5s",
                  "2025-01-01 10:00:00 ERROR widget: request to port 80 timed out after 1s"],
    )
    return dataclasses.replace(base, **overrides)


def write_canon(root: Path, canon: Canon | None = None, text: str | None = None) -> Path:
    """Write a canon at its place under `root`; `text` replaces the YAML when given."""
    canon = canon or make_canon()
    domain, slug = canon.id.split("/", 1)
    path = root / domain / f"{slug}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else dump_canon(canon), encoding="utf-8")
    return path
