"""Which files a corpus folder holds: cheap (no parsing), as every cold lookup lists the
bundled corpus to see whether its index is stale."""

from __future__ import annotations

import os
from pathlib import Path

YAML_SUFFIXES = (".yaml", ".yml")


def canon_files(root: Path) -> list[Path]:
    """Every YAML file under a corpus root, in a stable order (see `canon_file_names`)."""
    return [Path(path) for path in canon_file_names(root)]


def canon_file_names(root: Path) -> list[str]:
    """Every YAML file under a corpus root, as a path string, in a stable order (symlinked
    folders are not entered, unreadable ones are skipped, as `Path.rglob` does; read with
    `os.scandir`, which knows most entries' kinds without a `stat`: every cold lookup lists the
    bundled corpus)."""
    found: list[str] = []
    folders = [str(root)]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif os.path.splitext(entry.name)[1] in YAML_SUFFIXES and entry.is_file():
                        found.append(entry.path)
        except PermissionError:
            continue
    found.sort(key=lambda path: path.split(os.sep))  # the order of the paths' parts, as Path sorts
    return found
