"""Server-rendered pages over the same payloads as the JSON API: no JavaScript, no build step."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from errorkb.errors import InputError, InputTooLarge
from errorkb.records import to_data
from errorkb.render import LANGS, canon_summary, chain_payload, lookup_payload
from errorkb.service import MAX_LOOKUP_CHARS, KnowledgeBase

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

WORDS = {
    "en": {"domains": "Domains", "scan": "Scan a log", "paste": "Paste an error, a traceback or "
           "a log chunk", "env": "environment, e.g. Python 3.12; linux", "lookup": "Look up",
           "score": "score", "captured": "captured", "nomatch": "No known match.",
           "nearest": "Nearest candidates (not matches)", "avoid": "Don't try", "fails": "fails",
           "works": "What works", "when": "when", "next": "What tends to come next",
           "confused": "Often confused with", "other_lang": "中文", "examples": "Examples",
           "details": "Details", "docs": "Documentation", "sources": "Sources",
           "chain": "Before and after", "lines": "lines", "known": "known errors",
           "unknown": "unknown error templates", "first": "first at line", "last": "last at line"},
    "zh": {"domains": "领域", "scan": "扫描日志", "paste": "粘贴错误信息、堆栈或日志片段",
           "env": "环境，例如 Python 3.12; linux", "lookup": "查询", "score": "得分",
           "captured": "提取值", "nomatch": "没有已知的匹配。", "nearest": "最接近的候选（不算匹配）",
           "avoid": "不要尝试", "fails": "失败率", "works": "可行的办法", "when": "适用条件",
           "next": "接下来常见", "confused": "容易混淆", "other_lang": "English", "examples": "示例",
           "details": "详情", "docs": "官方文档", "sources": "来源", "chain": "前后关联",
           "lines": "行", "known": "个已知错误", "unknown": "个未知错误模板", "first": "首次出现于行",
           "last": "最后出现于行"},
}


def _language(lang: str | None) -> str:
    return lang if lang in LANGS else "en"


def _render(request: Request, template: str, lang: str, keep: dict[str, str] | None = None,
            **context: Any) -> HTMLResponse:
    """Render a page; `keep` (or the URL's parameters) goes into the language-switch links."""
    params = keep if keep is not None else dict(request.query_params)
    query = urlencode([(k, v) for k, v in params.items() if k != "lang" and v])
    return TEMPLATES.TemplateResponse(request, template, {
        "lang": lang, "t": WORDS[lang], "langs": LANGS, "query": query, **context})


def page_router(kb: KnowledgeBase, max_scan_bytes: int) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def search_page(request: Request, q: str = "", env: str | None = None,
                    lang: str | None = None) -> HTMLResponse:
        lang = _language(lang)
        result = lookup_payload(kb.lookup(q[:MAX_LOOKUP_CHARS], env=env or None), lang) \
            if q.strip() else None
        return _render(request, "search.html", lang, keep={"q": q, "env": env or ""}, q=q,
                       env=env, result=result)

    @router.post("/", response_class=HTMLResponse)
    def search_post(request: Request, q: Annotated[str, Form(max_length=MAX_LOOKUP_CHARS)],
                    env: Annotated[str | None, Form(max_length=500)] = None,
                    lang: str | None = None) -> HTMLResponse:
        return search_page(request, q, env, lang)

    @router.get("/canon/{domain}/{slug}", response_class=HTMLResponse)
    def canon_page(request: Request, domain: str, slug: str,
                   lang: str | None = None) -> HTMLResponse:
        lang = _language(lang)
        canon = kb.canon(f"{domain}/{slug}")
        other = "zh" if lang == "en" else "en"
        return _render(request, "canon.html", lang, c=canon_summary(canon, lang),
                       other=canon_summary(canon, other), full=to_data(canon),
                       sources=canon.all_sources(),
                       chain=chain_payload(canon.id, kb.chain(canon.id), lang)["steps"])

    @router.get("/domains", response_class=HTMLResponse)
    def domains_page(request: Request, lang: str | None = None) -> HTMLResponse:
        return _render(request, "domains.html", _language(lang), domains=kb.domains())

    @router.get("/domain/{domain}", response_class=HTMLResponse)
    def domain_page(request: Request, domain: str, lang: str | None = None) -> HTMLResponse:
        lang = _language(lang)
        items = [{"id": i, "signature": canon_summary(kb.canon(i), lang)["signature"]}
                 for i in kb.list_domain(domain)]
        return _render(request, "domain.html", lang, domain=domain, items=items)

    @router.get("/scan", response_class=HTMLResponse)
    def scan_form(request: Request, lang: str | None = None) -> HTMLResponse:
        return _render(request, "scan.html", _language(lang), report=None)

    @router.post("/scan", response_class=HTMLResponse)
    def scan_upload(request: Request, file: Annotated[UploadFile, File()],
                    lang: str | None = None) -> HTMLResponse:
        lang = _language(lang)
        data = file.file.read(max_scan_bytes + 1)
        if len(data) > max_scan_bytes:
            raise InputTooLarge(f"upload over {max_scan_bytes:,} bytes", "scan it with the CLI")
        if not data:
            raise InputError("the uploaded file is empty")
        report = kb.scan([(file.filename or "upload", io.BytesIO(data))]).to_dict()
        canons = {g["id"]: canon_summary(kb.canon(g["id"]), lang) for g in report["known"]}
        return _render(request, "scan.html", lang, report=report, canons=canons)

    return router
