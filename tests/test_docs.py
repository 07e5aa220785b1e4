"""Docs that cannot drift: every model field and every finding code is in the field guide."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from errorkb.model import Canon, Confusion, DeadEnd, Transition, TransitionGraph, Version, Workaround

REPO = Path(__file__).resolve().parents[1]
GUIDE = (REPO / "docs" / "canon-format.md").read_text(encoding="utf-8")
DOCUMENTED = set(re.findall(r"^\| `([a-z_]+)` \|", GUIDE, flags=re.MULTILINE))
CODES = set(re.findall(r"^\| `([a-z-]+)` \| (?:error|warning|info) \|", GUIDE, flags=re.MULTILINE))


@pytest.mark.parametrize("model", [Canon, Version, DeadEnd, Workaround, Transition, Confusion,
                                   TransitionGraph])
def test_every_model_field_is_documented(model: type) -> None:
    fields = {f.name for f in dataclasses.fields(model)}
    if model is TransitionGraph:
        assert all(f"`{name}`" in GUIDE for name in fields)
    else:
        assert fields <= DOCUMENTED, f"undocumented: {sorted(fields - DOCUMENTED)}"


def test_every_finding_code_is_documented() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "src").rglob("*.py"))
    emitted = set(re.findall(r'finding\(\s*"(?:error|warning|info)",\s*"([a-z-]+)"', source))
    emitted |= set(re.findall(r'\bcode="([a-z-]+)"', source))
    emitted |= set(re.findall(r'problem\(\s*"([a-z-]+)"', source))
    emitted |= {"unreadable", "too-large"}
    assert len(emitted) > 25
    assert emitted <= CODES, f"undocumented codes: {sorted(emitted - CODES)}"


def test_every_setting_is_documented() -> None:
    from errorkb.faces.config import SETTINGS

    settings_doc = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", settings_doc, flags=re.MULTILINE))
    assert set(SETTINGS) == documented
