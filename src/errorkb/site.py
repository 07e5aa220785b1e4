"""A static copy of the read API for hosting without a server: the same JSON as
`/api/v1/...`, plus `llms.txt` (what errorkb is and where each canon is) and an NDJSON dump."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from errorkb.exchange import seed_record
from errorkb.records import to_data
from errorkb.render import chain_payload
from errorkb.service import KnowledgeBase


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def site_files(kb: KnowledgeBase) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every file of the static site."""
    domains = kb.domains()
    yield "api/v1/domains.json", _json({"domains": domains})
    stats = {k: v for k, v in kb.stats().items() if k not in ("index", "stale")}
    yield "api/v1/stats.json", _json(stats)
    index_lines = []
    dump_lines = []
    for domain in domains:
        ids = kb.list_domain(domain)
        yield f"api/v1/domains/{domain}.json", _json({"domain": domain, "ids": ids})
        for canon_id in ids:
            canon = kb.canon(canon_id)
            yield f"api/v1/canons/{canon_id}.json", _json(to_data(canon))
            yield f"api/v1/chain/{canon_id}.json", _json(chain_payload(canon_id, kb.chain(canon_id)))
            index_lines.append(f"- [{canon.signature}](api/v1/canons/{canon_id}.json): "
                               f"{canon.root_cause.split('. ')[0][:200]}")
            dump_lines.append(json.dumps(seed_record(canon), ensure_ascii=False))
    yield "canons.ndjson", "\n".join(dump_lines) + "\n"
    yield "llms.txt", "\n".join([
        "# errorkb",
        "",
        "> Known software errors: root cause, fixes that fail (dead ends, with why), fixes that "
        "work (with conditions), and what error tends to come next. English and Chinese.",
        "",
        "Each canon is JSON at `api/v1/canons/<domain>/<slug>.json`; `canons.ndjson` has them all, "
        "one per line. Look an error up by matching its text against each canon's `regex` "
        "(RE2 syntax, case-insensitive), or run `errorkb lookup` / the MCP server for ranking.",
        "",
        "## Canons",
        "",
        *index_lines,
    ]) + "\n"


def write_site(kb: KnowledgeBase, root: Path) -> int:
    """Write the static site under `root`; returns the number of files written."""
    count = 0
    for relative, text in site_files(kb):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        count += 1
    return count
