"""The MCP face: tools for AI agents, each a few lines over `KnowledgeBase`.

Every tool returns the same payload the HTTP API returns (structured output), and lookups
also carry a short text for the agent: what to avoid first, then what works, then what comes
next. Read-only tools are annotated as such. `scan_log` reads a file only under directories
the server was started with (`--allow-path`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from errorkb.errors import ErrorkbError, InputError, InputTooLarge
from errorkb.outcomes import Report
from errorkb.records import to_data
from errorkb.render import chain_payload, error_payload, findings_payload, lookup_payload
from errorkb.render.agent import agent_text
from errorkb.service import KnowledgeBase

MAX_BATCH = 20
MAX_SCAN_TEXT = 1_000_000
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)

Lang = Annotated[str, Field(pattern="^(en|zh)$", description="answer language")]


def _compact(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _answer(work: Callable[[], dict[str, Any]],
            text: Callable[[dict[str, Any]], str] = _compact) -> CallToolResult:
    """The payload as structured content with a text rendering; an errorkb error becomes the
    one error body, marked as an error."""
    try:
        payload = work()
    except ErrorkbError as exc:
        body = error_payload(exc)
        return CallToolResult(content=[TextContent(type="text", text=f"{exc}")],
                              structured_content=body, is_error=True)
    return CallToolResult(content=[TextContent(type="text", text=text(payload))],
                          structured_content=payload)


def build_server(kb: KnowledgeBase, allow_paths: tuple[Path, ...] = ()) -> MCPServer:
    server = MCPServer(name="errorkb", log_level="WARNING", instructions=(
        "Look up an error message, traceback or log chunk before trying fixes: the answer lists "
        "fixes that are known to fail (avoid them), fixes that work and when, and what error "
        "tends to come next."))
    allowed = tuple(p.resolve() for p in allow_paths)

    @server.tool(annotations=READ_ONLY)
    def lookup_error(text: Annotated[str, Field(max_length=200_000)],
                     env: str | None = None, lang: Lang = "en",
                     limit: Annotated[int, Field(ge=1, le=10)] = 3) -> CallToolResult:
        """Known errors in a message, traceback or log chunk: dead ends, workarounds, next."""
        return _answer(lambda: lookup_payload(kb.lookup(text, env=env, limit=limit), lang),
                       agent_text)

    @server.tool(annotations=READ_ONLY)
    def batch_lookup(texts: Annotated[list[str], Field(min_length=1, max_length=MAX_BATCH)],
                     env: str | None = None, lang: Lang = "en") -> CallToolResult:
        """Look up to 20 texts at once; one result per text, in order."""
        return _answer(lambda: {"results": [lookup_payload(kb.lookup(t, env=env), lang)
                                            for t in texts]},
                       lambda p: "\n---\n".join(agent_text(r) for r in p["results"]))

    @server.tool(annotations=READ_ONLY)
    def get_error_detail(canon_id: str) -> CallToolResult:
        """Every field of one canon, in English and Chinese."""
        return _answer(lambda: to_data(kb.canon(canon_id)))

    @server.tool(annotations=READ_ONLY)
    def search_errors(query: Annotated[str, Field(max_length=2000)], domain: str | None = None,
                      limit: Annotated[int, Field(ge=1, le=50)] = 10) -> CallToolResult:
        """Canons for words, codes or message fragments, best first (no threshold)."""
        return _answer(lambda: {"query": query, "results": [
            {"id": m.canon_id, "score": round(m.score, 4),
             "signature": kb.canon(m.canon_id).signature}
            for m in kb.search(query, limit=limit, domain=domain)]})

    @server.tool(annotations=READ_ONLY)
    def list_error_domains() -> CallToolResult:
        """Domains and how many canons each has."""
        return _answer(lambda: {"domains": kb.domains()})

    @server.tool(annotations=READ_ONLY)
    def list_errors_by_domain(domain: str) -> CallToolResult:
        """Canon ids of one domain."""
        return _answer(lambda: {"domain": domain, "ids": kb.list_domain(domain)})

    @server.tool(annotations=READ_ONLY)
    def get_domain_stats() -> CallToolResult:
        """Size of the knowledge base per domain, and which index answers."""
        return _answer(kb.stats)

    @server.tool(annotations=READ_ONLY)
    def get_error_chain(canon_id: str, depth: Annotated[int, Field(ge=1, le=5)] = 2,
                        lang: Lang = "en") -> CallToolResult:
        """What tends to come before and after an error."""
        return _answer(lambda: chain_payload(canon_id, kb.chain(canon_id, depth), lang))

    @server.tool(annotations=READ_ONLY)
    def scan_log(text: str | None = None, path: str | None = None) -> CallToolResult:
        """Known errors in a log, grouped and counted: give its text, or a file path under a
        directory the server allows."""
        def run() -> dict[str, Any]:
            if (text is None) == (path is None):
                raise InputError("give either `text` or `path`")
            if text is not None:
                if len(text) > MAX_SCAN_TEXT:
                    raise InputTooLarge(f"text over {MAX_SCAN_TEXT:,} characters",
                                        "pass a path under an allowed directory")
                return kb.scan([("text", io.BytesIO(text.encode()))]).to_dict()
            target = Path(str(path)).resolve()
            if not any(target.is_relative_to(root) for root in allowed):
                raise InputError(f"{path} is not under a directory this server allows",
                                 "start the server with --allow-path DIR")
            with target.open("rb") as handle:
                return kb.scan([(str(target), handle)]).to_dict()
        return _answer(run)

    @server.tool(annotations=READ_ONLY)
    def check_canon(canon_text: Annotated[str, Field(max_length=262_144)]) -> CallToolResult:
        """Validate one canon given as YAML or JSON: findings with codes, fields and hints."""
        def run() -> dict[str, Any]:
            report = kb.check_canon_text(canon_text)
            return findings_payload(report.findings, report.checked)
        return _answer(run)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                             idempotent_hint=True, open_world_hint=False))
    def report_outcome(canon_id: str, worked: bool,
                       idempotency_key: Annotated[str, Field(min_length=8, max_length=200)],
                       workaround: Annotated[int | None, Field(ge=0)] = None,
                       dead_end: Annotated[int | None, Field(ge=0)] = None,
                       env: Annotated[str, Field(max_length=500)] = "",
                       note: Annotated[str, Field(max_length=2000)] = "") -> CallToolResult:
        """Report whether a workaround (or a dead end) worked, so its effective rate follows.
        Reuse the idempotency key on retries: a report counts once."""
        return _answer(lambda: kb.report(Report.for_item(
            canon_id, workaround=workaround, dead_end=dead_end, worked=worked,
            idempotency_key=idempotency_key, env=env, note=note, token_name="mcp")))

    @server.tool(annotations=READ_ONLY)
    def draft_canon_from_article(article: Annotated[str, Field(max_length=2_000_000)],
                                 source: str = "article", domain: str = "draft") -> CallToolResult:
        """Turn an article (text, Markdown or HTML) into a draft canon, or a merge proposal for
        the canon it is about (contradicting claims marked disputed). Nothing is written."""
        return _answer(lambda: kb.ingest(article.encode(), source=source, domain=domain).to_dict())

    return server
