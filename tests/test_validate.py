"""Each validator finding code, triggered by one small broken fixture."""

from __future__ import annotations

from typing import Any

import pytest

from errorkb.model import Canon, Confusion, DeadEnd, Transition, TransitionGraph, Version, Workaround
from errorkb.records import Loaded
from errorkb.validate import check
from tests.factories import make_canon

GOOD = make_canon()


def codes_for(*canons: Canon, exchange: bool = False, known: tuple[str, ...] = ()) -> list[str]:
    return [f.code for f in check([Loaded(c, "x.yaml", 1, exchange) for c in canons], known)]


def test_the_factory_canon_is_clean() -> None:
    assert codes_for(GOOD) == []


BROKEN: list[tuple[str, dict[str, Any]]] = [
    ("bad-id", {"id": "Demo Widget"}),
    ("domain-mismatch", {"domain": "other"}),
    ("empty-field", {"signature": " ", "regex": "widget", "examples": []}),
    ("regex-invalid", {"regex": r"(widget) \1"}),
    ("regex-invalid", {"regex": r"widget(?= timed)"}),
    ("regex-matches-empty", {"regex": r"(widget)?", "examples": []}),
    ("regex-misses-signature", {"signature": "gadget failed"}),
    ("regex-misses-example", {"examples": ["widget: request to port X timed out"]}),
    ("rate-out-of-range", {"confidence": 1.5}),
    ("rate-out-of-range", {"dead_ends": [DeadEnd(action="a", action_zh="甲", fail_rate=-0.1)]}),
    ("rate-out-of-range", {"evidence_count": -1}),
    ("bad-value", {"resolvable": "maybe"}),
    ("bad-value", {"versions": [Version(version="widget 2", status="alive")]}),
    ("bad-date", {"first_seen": "2024/01/01"}),
    ("unknown-tier", {"verification_tier": "trust-me"}),
    ("date-order", {"first_seen": "2025-06-01"}),
    ("not-chinese", {"root_cause_zh": "The widget server did not answer."}),
    ("zh-count", {"workarounds_zh": ["一", "二"]}),
    ("missing-translation", {"signature_zh": ""}),
    ("missing-examples", {"examples": []}),
    ("source-not-url", {"official_doc_url": "see the manual"}),
    ("no-sources", {"dead_ends": [DeadEnd(action="a", action_zh="甲")],
                    "workarounds": [Workaround(action="b", action_zh="乙", how="c d", how_zh="丙")]}),
    ("how-repeats-action", {"workarounds": [Workaround(
        action="Raise the worker count", action_zh="增加", how="raise the  worker count",
        how_zh="增加", sources=["https://example.org/a"])]}),
    ("unsupported-confidence", {"verification_tier": "ai_generated", "confidence": 0.9,
                                "dead_ends": [], "workarounds": []}),
    ("unresolved-link", {"transition_graph": TransitionGraph(
        leads_to=[Transition(error_id="demo/nowhere", condition_zh="")])}),
]


@pytest.mark.parametrize(("code", "overrides"), BROKEN, ids=[c for c, _ in BROKEN])
def test_each_rule_fires(code: str, overrides: dict[str, Any]) -> None:
    found = codes_for(make_canon(**overrides))
    assert code in found, found


def test_findings_quote_the_value_and_give_a_hint() -> None:
    (finding,) = check([Loaded(make_canon(resolvable="maybe"), "x.yaml", 3)])
    assert finding.severity == "error" and "'maybe'" in finding.message
    assert finding.hint and finding.file == "x.yaml" and finding.line == 3
    assert finding.canon_id == GOOD.id and finding.field == "resolvable"


def test_duplicate_ids_and_signatures() -> None:
    other = make_canon(id="demo/widget-other")
    assert "duplicate-id" in codes_for(GOOD, GOOD)
    assert codes_for(GOOD, other).count("duplicate-signature") == 1


def test_over_broad_regex_unless_the_overlap_is_explained() -> None:
    broad = make_canon(id="demo/any-widget", regex="widget", signature="widget broke",
                       examples=["widget broke again"])
    assert codes_for(GOOD, broad) == ["over-broad-regex"]
    explained = make_canon(id="demo/any-widget", regex="widget", signature="widget broke",
                           examples=["widget broke again"], transition_graph=TransitionGraph(
                               frequently_confused_with=[Confusion(
                                   error_id=GOOD.id, distinction="timeouts name a port",
                                   distinction_zh="超时会带端口号")]))
    assert codes_for(GOOD, explained) == []
    summary = make_canon(id="demo/any-widget", regex="widget", signature="widget broke",
                         examples=["widget broke again"], tags=["summary"])
    assert codes_for(GOOD, summary) == []  # it ranks below the canons whose logs it closes


def test_links_resolve_against_known_ids() -> None:
    linked = make_canon(transition_graph=TransitionGraph(
        leads_to=[Transition(error_id="net/elsewhere", condition="", condition_zh="")]))
    assert codes_for(linked) == ["unresolved-link"]
    assert codes_for(linked, known=("net/elsewhere",)) == []


def test_completeness_rules_do_not_apply_to_exchange_records() -> None:
    bare = make_canon(examples=[], signature_zh="")
    assert set(codes_for(bare)) == {"missing-examples", "missing-translation"}
    assert codes_for(bare, exchange=True) == []


def test_regexes_match_case_insensitively_unless_opted_out() -> None:
    shouting = make_canon(examples=["WIDGET: REQUEST TO PORT 1 TIMED OUT"])
    assert codes_for(shouting) == []
    assert codes_for(make_canon(examples=["WIDGET: REQUEST TO PORT 1 TIMED OUT"],
                                case_sensitive=True)) == ["regex-misses-example"]
