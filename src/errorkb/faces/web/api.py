"""The HTTP face: a versioned JSON API over `KnowledgeBase`, the web pages (same payloads,
rendered), and the MCP server at `/mcp`.

Every error answers with the one error body (`render.error_payload`); request bodies are
capped; CORS is off unless origins are configured. Payloads are those of the CLI and MCP.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from errorkb import __version__
from errorkb.errors import ErrorkbError, InputTooLarge, NotFound
from errorkb.faces.mcp_server import build_server
from errorkb.faces.web.pages import page_router
from errorkb.outcomes import Report
from errorkb.records import to_data
from errorkb.render import LANGS, chain_payload, error_payload, lookup_payload
from errorkb.service import MAX_LOOKUP_CHARS, KnowledgeBase

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_SCAN_BYTES = 64 * 1024 * 1024
MAX_BATCH = 100
LangQuery = Annotated[str, Query(pattern="^(en|zh)$")]


class LookupBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_LOOKUP_CHARS)
    env: str | None = Field(default=None, max_length=500)
    lang: str = Field(default="en", pattern="^(en|zh)$")
    limit: int = Field(default=3, ge=1, le=50)
    domain: str | None = Field(default=None, max_length=100)


class BatchBody(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    env: str | None = Field(default=None, max_length=500)
    lang: str = Field(default="en", pattern="^(en|zh)$")


class OutcomeBody(BaseModel):
    canon_id: str = Field(min_length=3, max_length=300)
    workaround: int | None = Field(default=None, ge=0, le=1000)
    dead_end: int | None = Field(default=None, ge=0, le=1000)
    worked: bool
    idempotency_key: str = Field(min_length=8, max_length=200)
    env: str = Field(default="", max_length=500)
    note: str = Field(default="", max_length=2000)


class IngestBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_BODY_BYTES)
    source: str = Field(default="article", max_length=2000)
    domain: str = Field(default="draft", pattern="^[a-z0-9][a-z0-9_.-]{0,60}$")


def _error(status: int, code: str, message: str, hint: str = "") -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "hint": hint}},
                        status_code=status)


class BodyCap:
    """Refuse request bodies over a size cap before they are read (413, the one error body)."""

    def __init__(self, app: ASGIApp, limit: int, scan_limit: int) -> None:
        self.app, self.limit, self.scan_limit = app, limit, scan_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = self.scan_limit if scope["path"].endswith("/scan") else self.limit
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                await _error(413, "input_too_large", f"request body over {limit:,} bytes",
                             "send less, or scan logs with the CLI")(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Swappable:
    """An ASGI app whose target is set when the server starts (the MCP app of this lifespan)."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            await _error(503, "starting", "the MCP endpoint is not ready yet")(scope, receive, send)
            return
        await self.app(scope, receive, send)


WRITE_TOOLS = frozenset({"report_outcome"})


def bearer_token_name(kb: KnowledgeBase, authorization: str) -> str | None:
    """The name of the live token in an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = authorization.partition(" ")
    if kb.outcomes is None or scheme.lower() != "bearer" or not token.strip():
        return None
    return kb.outcomes.token_name(token.strip())


class McpWriteGuard:
    """MCP over HTTP: a tool call that writes needs a valid bearer token; reads stay open."""

    def __init__(self, app: ASGIApp, kb: KnowledgeBase) -> None:
        self.app, self.kb = app, kb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if self._writes(body) and not self._authorized(scope):
            await _error(401, "unauthorized", "writes over MCP need `Authorization: Bearer "
                         "<token>`", "errorkb token create NAME")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _writes(body: bytes) -> bool:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return False
        calls = data if isinstance(data, list) else [data]
        return any(isinstance(c, dict) and c.get("method") == "tools/call"
                   and isinstance(c.get("params"), dict) and c["params"].get("name") in WRITE_TOOLS
                   for c in calls)

    def _authorized(self, scope: Scope) -> bool:
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        return bearer_token_name(self.kb, header) is not None


def create_app(kb: KnowledgeBase, *, cors_origins: tuple[str, ...] = (),
               allow_paths: tuple[Path, ...] = ()) -> FastAPI:
    mcp = build_server(kb, allow_paths)
    mcp_mount = _Swappable()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # MCP's session manager runs once per instance: each lifespan gets a fresh one.
        mcp_app = mcp.streamable_http_app(streamable_http_path="/")
        async with mcp_app.router.lifespan_context(mcp_app):
            mcp_mount.app = mcp_app
            yield

    app = FastAPI(title="errorkb", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url="/api/v1/docs", redoc_url=None, lifespan=lifespan)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["*"])
    app.add_middleware(BodyCap, limit=MAX_BODY_BYTES, scan_limit=MAX_SCAN_BYTES)
    app.mount("/mcp", McpWriteGuard(mcp_mount, kb))
    app.include_router(page_router(kb, MAX_SCAN_BYTES))

    @app.exception_handler(ErrorkbError)
    async def on_errorkb_error(_: Request, exc: ErrorkbError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 413 if isinstance(exc, InputTooLarge) \
            else 503 if exc.code == "index_unavailable" else 400
        return JSONResponse(error_payload(exc), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, "invalid_request", f"{where}: {first.get('msg', 'invalid request')}",
                      "see /api/v1/openapi.json")

    @app.exception_handler(HTTPException)
    async def on_http(_: Request, exc: HTTPException) -> JSONResponse:
        code = "unauthorized" if exc.status_code == 401 else "http_error"
        return _error(exc.status_code, code, str(exc.detail))

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"ok": True, **kb.serving()}

    @app.get("/api/v1/lookup")
    def lookup_get(q: Annotated[str, Query(min_length=1, max_length=MAX_LOOKUP_CHARS)],
                   env: str | None = None, lang: LangQuery = "en",
                   limit: Annotated[int, Query(ge=1, le=50)] = 3,
                   domain: str | None = None) -> dict[str, Any]:
        return lookup_payload(kb.lookup(q, env=env, limit=limit, domain=domain), lang)

    @app.post("/api/v1/lookup")
    def lookup_post(body: LookupBody) -> dict[str, Any]:
        return lookup_payload(kb.lookup(body.text, env=body.env, limit=body.limit,
                                        domain=body.domain), body.lang)

    @app.post("/api/v1/batch")
    def batch(body: BatchBody) -> dict[str, Any]:
        return {"results": [lookup_payload(kb.lookup(t, env=body.env), body.lang)
                            for t in body.texts]}

    @app.get("/api/v1/canons/{domain}/{slug}")
    def canon(domain: str, slug: str) -> dict[str, Any]:
        data: dict[str, Any] = to_data(kb.canon(f"{domain}/{slug}"))
        return data

    @app.get("/api/v1/search")
    def search(q: Annotated[str, Query(min_length=1, max_length=2000)], domain: str | None = None,
               limit: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
        return {"query": q, "results": [
            {"id": m.canon_id, "score": round(m.score, 4), "signature": kb.canon(m.canon_id).signature}
            for m in kb.search(q, limit=limit, domain=domain)]}

    @app.get("/api/v1/domains")
    def domains() -> dict[str, Any]:
        return {"domains": kb.domains()}

    @app.get("/api/v1/domains/{domain}")
    def domain_ids(domain: str) -> dict[str, Any]:
        return {"domain": domain, "ids": kb.list_domain(domain)}

    @app.get("/api/v1/chain/{domain}/{slug}")
    def chain(domain: str, slug: str, depth: Annotated[int, Query(ge=1, le=5)] = 2,
              lang: LangQuery = "en") -> dict[str, Any]:
        canon_id = f"{domain}/{slug}"
        return chain_payload(canon_id, kb.chain(canon_id, depth), lang)

    @app.post("/api/v1/scan")
    def scan(file: Annotated[UploadFile, File()]) -> dict[str, Any]:
        data = file.file.read(MAX_SCAN_BYTES + 1)
        if len(data) > MAX_SCAN_BYTES:
            raise InputTooLarge(f"upload over {MAX_SCAN_BYTES:,} bytes", "scan it with the CLI")
        return kb.scan([(file.filename or "upload", io.BytesIO(data))]).to_dict()

    def token_name(request: Request) -> str:
        """The caller's token name; 401 with the one error body when missing or wrong."""
        name = bearer_token_name(kb, request.headers.get("authorization", ""))
        if name is None:
            raise HTTPException(401, "a valid `Authorization: Bearer <token>` is required for "
                                     "writes (errorkb token create NAME)")
        return name

    @app.post("/api/v1/outcomes")
    def outcomes(body: OutcomeBody, request: Request) -> dict[str, Any]:
        """Report whether a workaround or dead end worked (needs a token)."""
        return kb.report(Report.for_item(
            body.canon_id, workaround=body.workaround, dead_end=body.dead_end, worked=body.worked,
            idempotency_key=body.idempotency_key, env=body.env, note=body.note,
            token_name=token_name(request)))

    @app.post("/api/v1/ingest")
    def ingest(body: IngestBody) -> dict[str, Any]:
        """An article in; the draft canon or the merge proposal out. Nothing is written."""
        return kb.ingest(body.text.encode(), source=body.source, domain=body.domain).to_dict()

    @app.get("/api/v1/stats")
    def stats() -> dict[str, Any]:
        return {**kb.stats(), "languages": list(LANGS)}

    return app
