"""Real processes: `errorkb mcp` over stdio, `errorkb serve` over HTTP and streamable HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.faces.conftest import ERRORKB, running_server
from tests.factories import make_canon, write_canon

TEXT = "ERROR widget: request to port 8443 timed out after 9s"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    write_canon(root, make_canon())
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {**os.environ, "ERRORKB_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.slow
@pytest.mark.anyio
async def test_mcp_over_stdio(corpus: Path, env: dict[str, str]) -> None:
    params = StdioServerParameters(command=ERRORKB, args=["mcp", "--no-bundled", "--corpus",
                                                          str(corpus)], env=env)
    async with Client(params) as client:
        result = await client.call_tool("lookup_error", {"text": TEXT})
    assert result.structured_content["matches"][0]["id"] == "demo/widget-timeout"  # type: ignore[index]


@pytest.fixture(scope="module")
def server(corpus: Path, env: dict[str, str]) -> Iterator[str]:
    with running_server(["--no-bundled", "--corpus", str(corpus)], env) as base:
        yield base


@pytest.mark.slow
def test_http_api_of_a_real_server(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/lookup", params={"q": TEXT})
    assert response.status_code == 200
    assert response.json()["matches"][0]["captures"] == ["8443"]


@pytest.mark.slow
@pytest.mark.anyio
async def test_mcp_over_streamable_http(server: str) -> None:
    async with Client(f"{server}/mcp/") as client:
        result = await client.call_tool("lookup_error", {"text": TEXT})
    assert result.structured_content["matches"][0]["id"] == "demo/widget-timeout"  # type: ignore[index]


@pytest.mark.slow
def test_a_json_lookup_process_does_not_load_the_terminal_renderer(corpus: Path,
                                                                   env: dict[str, str]) -> None:
    """rich is a tenth of a lookup's start-up; JSON answers never print through it."""
    command = [sys.executable, "-X", "importtime", "-m", "errorkb", "lookup", TEXT, "--json",
               "--no-bundled", "--corpus", str(corpus)]
    subprocess.run(command, env=env, capture_output=True, check=False)  # builds the index
    answered = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    imported = {line.rsplit("|", 1)[-1].strip() for line in answered.stderr.splitlines()}
    assert json.loads(answered.stdout)["matches"][0]["id"] == "demo/widget-timeout"
    assert "errorkb.service" in imported and "rich" not in imported
