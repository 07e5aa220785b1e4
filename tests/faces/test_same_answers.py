"""The same questions through CLI, HTTP and MCP get the same answers and the same error body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from mcp import Client

from errorkb.faces.cli import main
from errorkb.faces.mcp_server import build_server
from errorkb.faces.web.api import MAX_BODY_BYTES, create_app
from errorkb.model import Transition, TransitionGraph
from errorkb.service import KnowledgeBase
from tests.factories import make_canon, write_canon

TEXT = "2025-01-01 10:00:00 ERROR widget: request to port 8443 timed out after 9s"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    write_canon(root, make_canon(transition_graph=TransitionGraph(leads_to=[Transition(
        error_id="demo/widget-crash", probability=0.3, condition="under load",
        condition_zh="负载高时")])))
    write_canon(root, make_canon(id="demo/widget-crash", signature="widget crashed: core dumped",
                                 signature_zh="widget 崩溃：核心已转储",
                                 regex=r"widget crashed: core dumped",
                                 examples=["widget crashed: core dumped (pid 7)"]))
    return root


@pytest.fixture(scope="module")
def kb(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.open([corpus], cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def http(kb: KnowledgeBase) -> TestClient:
    return TestClient(create_app(kb))


def cli(corpus: Path, tmp_path: Path, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(main, [*args, "--no-bundled", "--corpus", str(corpus), "--json"],
                                env={"ERRORKB_CACHE_DIR": str(tmp_path)})
    return result.exit_code, json.loads(result.stdout)


async def mcp_call(kb: KnowledgeBase, tool: str, arguments: dict[str, Any]) -> tuple[bool, Any]:
    async with Client(build_server(kb)) as client:
        result = await client.call_tool(tool, arguments)
        return bool(result.is_error), result.structured_content


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_lookup_is_the_same_everywhere(kb: KnowledgeBase, http: TestClient, corpus: Path,
                                             tmp_path: Path) -> None:
    code, from_cli = cli(corpus, tmp_path, "lookup", TEXT, "--limit", "3")
    from_get = http.get("/api/v1/lookup", params={"q": TEXT}).json()
    from_post = http.post("/api/v1/lookup", json={"text": TEXT}).json()
    failed, from_mcp = await mcp_call(kb, "lookup_error", {"text": TEXT})
    assert code == 0 and not failed
    assert from_cli == from_get == from_post == from_mcp
    assert from_cli["matches"][0]["id"] == "demo/widget-timeout"
    assert from_cli["matches"][0]["captures"] == ["8443"]


@pytest.mark.anyio
async def test_chinese_answers_are_the_same_everywhere(kb: KnowledgeBase, http: TestClient,
                                                       corpus: Path, tmp_path: Path) -> None:
    _, from_cli = cli(corpus, tmp_path, "lookup", TEXT, "--lang", "zh")
    from_http = http.get("/api/v1/lookup", params={"q": TEXT, "lang": "zh"}).json()
    _, from_mcp = await mcp_call(kb, "lookup_error", {"text": TEXT, "lang": "zh"})
    assert from_cli == from_http == from_mcp
    assert from_cli["matches"][0]["root_cause"] == "widget 服务器没有及时应答。"


@pytest.mark.anyio
async def test_chain_is_the_same_everywhere(kb: KnowledgeBase, http: TestClient, corpus: Path,
                                            tmp_path: Path) -> None:
    _, from_cli = cli(corpus, tmp_path, "chain", "demo/widget-timeout")
    from_http = http.get("/api/v1/chain/demo/widget-timeout").json()
    _, from_mcp = await mcp_call(kb, "get_error_chain", {"canon_id": "demo/widget-timeout"})
    assert from_cli == from_http == from_mcp
    assert [s["id"] for s in from_cli["steps"]] == ["demo/widget-crash"]


@pytest.mark.anyio
async def test_one_error_body_everywhere(kb: KnowledgeBase, http: TestClient, corpus: Path,
                                         tmp_path: Path) -> None:
    code, from_cli = cli(corpus, tmp_path, "show", "demo/nope")
    response = http.get("/api/v1/canons/demo/nope")
    failed, from_mcp = await mcp_call(kb, "get_error_detail", {"canon_id": "demo/nope"})
    assert code == 1 and response.status_code == 404 and failed
    assert from_cli == response.json() == from_mcp
    assert set(from_cli["error"]) == {"code", "message", "hint"}
    assert from_cli["error"]["code"] == "not_found"


def test_http_refuses_bad_requests_with_the_error_body(http: TestClient) -> None:
    too_big = http.post("/api/v1/lookup", content=b"x" * (MAX_BODY_BYTES + 1),
                        headers={"content-type": "application/json"})
    invalid = http.post("/api/v1/lookup", json={"text": ""})
    bad_lang = http.get("/api/v1/lookup", params={"q": "x", "lang": "fr"})
    for response, status in ((too_big, 413), (invalid, 422), (bad_lang, 422)):
        assert response.status_code == status
        assert set(response.json()["error"]) == {"code", "message", "hint"}


def test_http_routes_answer(http: TestClient) -> None:
    assert http.get("/healthz").json() == {"ok": True, "canons": 2, "corpus_version": None}
    assert http.get("/api/v1/domains").json() == {"domains": {"demo": 2}}
    assert http.get("/api/v1/domains/demo").json()["ids"] == ["demo/widget-crash",
                                                              "demo/widget-timeout"]
    assert http.get("/api/v1/search", params={"q": "widget crashed"}).json()["results"][0]["id"] \
        == "demo/widget-crash"
    assert http.get("/api/v1/canons/demo/widget-crash").json()["regex"] == "widget crashed: core dumped"
    assert http.get("/api/v1/stats").json()["canons"] == 2
    batch = http.post("/api/v1/batch", json={"texts": [TEXT, "all fine"]}).json()["results"]
    assert [r["found"] for r in batch] == [True, False]
    scan = http.post("/api/v1/scan", files={"file": ("app.log", TEXT.encode() + b"\n")}).json()
    assert [g["id"] for g in scan["known"]] == ["demo/widget-timeout"]
    spec = http.get("/api/v1/openapi.json").json()
    assert "/api/v1/lookup" in spec["paths"]
    assert "access-control-allow-origin" not in http.get(
        "/healthz", headers={"origin": "https://evil.example"}).headers


@pytest.mark.anyio
async def test_mcp_tools_are_typed_and_read_only(kb: KnowledgeBase) -> None:
    async with Client(build_server(kb)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) >= {"lookup_error", "batch_lookup", "get_error_detail", "search_errors",
                              "list_error_domains", "list_errors_by_domain", "get_domain_stats",
                              "get_error_chain", "scan_log", "check_canon", "report_outcome",
                              "draft_canon_from_article"}
        assert {name for name, t in tools.items()
                if not (t.annotations and t.annotations.read_only_hint)} == {"report_outcome"}
        result = await client.call_tool("lookup_error", {"text": TEXT})
        text = result.content[0].text  # type: ignore[union-attr]
        assert text.index("AVOID:") < text.index("DO:") < text.index("NEXT:")
        bad = await client.call_tool("lookup_error", {"text": TEXT, "limit": 99})
        assert bad.is_error
        checked = await client.call_tool("check_canon", {"canon_text": "id: demo/x\nsignature: a\n"})
        codes = {f["code"] for f in checked.structured_content["findings"]}  # type: ignore[index]
        assert "missing-field" in codes


@pytest.mark.anyio
async def test_scan_log_reads_files_only_under_allowed_paths(kb: KnowledgeBase, tmp_path: Path) -> None:
    allowed = tmp_path / "logs"
    allowed.mkdir()
    (allowed / "app.log").write_text(TEXT + "\n", encoding="utf-8")
    (tmp_path / "secret.log").write_text(TEXT + "\n", encoding="utf-8")
    async with Client(build_server(kb, (allowed,))) as client:
        ok = await client.call_tool("scan_log", {"path": str(allowed / "app.log")})
        refused = await client.call_tool("scan_log", {"path": str(allowed / ".." / "secret.log")})
        inline = await client.call_tool("scan_log", {"text": TEXT})
    assert not ok.is_error and ok.structured_content["known"][0]["id"] == "demo/widget-timeout"  # type: ignore[index]
    assert refused.is_error and "not under" in refused.structured_content["error"]["message"]  # type: ignore[index]
    assert inline.structured_content["known"][0]["count"] == 1  # type: ignore[index]


def test_static_site_has_the_api_json(kb: KnowledgeBase, http: TestClient, tmp_path: Path) -> None:
    from errorkb.site import write_site

    assert write_site(kb, tmp_path) > 5
    static = json.loads((tmp_path / "api/v1/canons/demo/widget-timeout.json").read_text("utf-8"))
    assert static == http.get("/api/v1/canons/demo/widget-timeout").json()
    assert json.loads((tmp_path / "api/v1/domains.json").read_text("utf-8")) == \
        http.get("/api/v1/domains").json()
    llms = (tmp_path / "llms.txt").read_text("utf-8")
    assert llms.startswith("# errorkb") and "api/v1/canons/demo/widget-crash.json" in llms
    dump = (tmp_path / "canons.ndjson").read_text("utf-8").splitlines()
    assert sorted(json.loads(line)["id"] for line in dump) == ["demo/widget-crash",
                                                              "demo/widget-timeout"]


@pytest.mark.anyio
async def test_ingest_is_the_same_over_http_and_mcp(kb: KnowledgeBase, http: TestClient) -> None:
    article = ("# Widget timeouts\n\nWhen you see \"widget: request to port 9000 timed out\" the "
               "server is slow. It happens because the queue is full. Run `widgetctl drain` first.")
    direct = kb.ingest(article.encode(), source="https://example.org/w").to_dict()
    over_http = http.post("/api/v1/ingest", json={"text": article, "source": "https://example.org/w"})
    failed, over_mcp = await mcp_call(kb, "draft_canon_from_article",
                                      {"article": article, "source": "https://example.org/w"})
    assert over_http.status_code == 200 and not failed
    assert direct == over_http.json() == over_mcp
    assert direct["kind"] == "merge_proposal" and direct["target"] == "demo/widget-timeout"
