"""Build the native kernel (native/kernel.cpp) into the package, when this machine can.

    python native/build.py [--require]

It needs a C++17 compiler, pybind11 (a dev dependency) and RE2's headers and library (Debian:
`apt-get install libre2-dev`). Without them errorkb runs on its Python engines, which give the
same answers more slowly; `--require` (or ERRORKB_REQUIRE_NATIVE=1) makes that an error, as CI
wants. The build is skipped when the module is already built from the same source.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "native" / "kernel.cpp"
TARGET = ROOT / "src" / "errorkb" / "match" / f"_kernel{sysconfig.get_config_var('EXT_SUFFIX')}"
STAMP = TARGET.parent / "_kernel.source-sha256"


def source_digest() -> str:
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def command() -> list[str]:
    import pybind11

    compiler = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or "c++"
    return [compiler, "-O2", "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden",
            f"-I{sysconfig.get_paths()['include']}", f"-I{pybind11.get_include()}",
            str(SOURCE), "-o", str(TARGET), "-lre2"]


def build() -> str | None:
    """Build unless up to date; returns why it could not, or None."""
    digest = source_digest()
    if TARGET.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return None
    try:
        args = command()
    except ImportError:
        return "pybind11 is not installed (pip install -e '.[dev]')"
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    except OSError as exc:
        return f"no C++ compiler ({exc})"
    if done.returncode != 0:
        TARGET.unlink(missing_ok=True)
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        return f"the compile failed (RE2 headers missing? apt-get install libre2-dev):\n{tail}"
    STAMP.write_text(digest + "\n")
    return None


def main() -> int:
    require = "--require" in sys.argv[1:] or os.environ.get("ERRORKB_REQUIRE_NATIVE") == "1"
    problem = build()
    if problem is None:
        return 0
    print(f"native kernel not built: {problem}", file=sys.stderr)
    if require:
        return 1
    print("errorkb will use its Python engines (same answers, slower lookups)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
