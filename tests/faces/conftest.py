"""Starting a real `errorkb serve` for the process-level tests."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ERRORKB = str(Path(sys.executable).with_name("errorkb"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(args: list[str], env: dict[str, str], wait_seconds: float = 60) -> Iterator[str]:
    """`errorkb serve ARGS` on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    process = subprocess.Popen([ERRORKB, "serve", "--port", str(port), *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.terminate()
                    raise AssertionError(
                        f"server did not start: {process.communicate()[1][:2000]!r}") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=10)
