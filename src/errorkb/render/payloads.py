"""The JSON payloads every face returns. Terminal text is rendered from these, never beside them.

`lang="zh"` takes each text from its `_zh` twin when there is one, so an answer can be given
wholly in Chinese; English is the fallback per field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from errorkb.errors import ErrorkbError
from errorkb.match import Match
from errorkb.model import Canon, Finding
from errorkb.outcomes import Tally, dead_end_fail_rate, workaround_rate
from errorkb.service import ChainStep, LookupResult

LANGS = ("en", "zh")


def error_payload(exc: ErrorkbError) -> dict[str, Any]:
    """The one error body: {"error": {"code", "message", "hint"}}."""
    return {"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}


def findings_payload(findings: list[Finding], checked: int) -> dict[str, Any]:
    from errorkb.validate import summarize  # the validator's rules: not imported by lookups

    return {"checked": checked, "counts": summarize(findings),
            "findings": [f.to_dict() for f in findings]}


def _pick(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" and zh.strip() else en


def _rates(stated: float | None, tally: Tally | None,
           rate: Callable[[float | None, Tally], float]) -> dict[str, Any]:
    """Reports received for an item and the effective rate they give (None when the canon
    states no rate and nobody reported)."""
    tally = tally or Tally()
    shown = None if stated is None and not tally.reports else round(rate(stated, tally), 3)
    return {"reports": tally.reports, "effective_rate": shown}


def canon_summary(canon: Canon, lang: str = "en",
                  tallies: dict[tuple[str, int], Tally] | None = None) -> dict[str, Any]:
    """What an agent needs to act: what not to try, what works, what comes next — with the
    stated rates, the outcome reports received and the effective rate they give."""
    graph = canon.transition_graph
    tallies = tallies or {}
    return {
        "id": canon.id,
        "signature": _pick(lang, canon.signature, canon.signature_zh),
        "domain": canon.domain,
        "error_code": canon.error_code,
        "root_cause": _pick(lang, canon.root_cause, canon.root_cause_zh),
        "dead_ends": [{"action": _pick(lang, d.action, d.action_zh),
                       "why_fails": _pick(lang, d.why_fails, d.why_fails_zh),
                       "fail_rate": d.fail_rate,
                       **_rates(d.fail_rate, tallies.get(("dead_end", i)), dead_end_fail_rate),
                       "condition": _pick(lang, d.condition, d.condition_zh)}
                      for i, d in enumerate(canon.dead_ends)],
        "workarounds": [{"action": _pick(lang, w.action, w.action_zh),
                         "how": _pick(lang, w.how, w.how_zh),
                         "success_rate": w.success_rate,
                         **_rates(w.success_rate, tallies.get(("workaround", i)), workaround_rate),
                         "condition": _pick(lang, w.condition, w.condition_zh)}
                        for i, w in enumerate(canon.workarounds)],
        "leads_to": [{"id": t.error_id, "probability": t.probability,
                      "condition": _pick(lang, t.condition, t.condition_zh)}
                     for t in graph.leads_to],
        "frequently_confused_with": [{"id": c.error_id,
                                      "distinction": _pick(lang, c.distinction, c.distinction_zh)}
                                     for c in graph.frequently_confused_with],
        "verification_tier": canon.verification_tier,
        "official_doc_url": canon.official_doc_url,
    }


def _score(match: Match) -> dict[str, Any]:
    return {"score": round(match.score, 4),
            "score_parts": {k: round(v, 4) for k, v in match.parts.items()}}


def match_payload(match: Match, canon: Canon, lang: str,
                  tallies: dict[tuple[str, int], Tally] | None = None) -> dict[str, Any]:
    return {"id": match.canon_id, "known": match.known, **_score(match),
            "captures": match.captures, "named_captures": match.named,
            "matched_text": match.matched_text, **canon_summary(canon, lang, tallies)}


def lookup_payload(result: LookupResult, lang: str = "en") -> dict[str, Any]:
    query = result.query
    decisive = [query.text[start:end] for start, end, _ in query.decisive][:5]
    return {
        "found": result.found,
        "query": {"decisive_lines": decisive, "codes": sorted(query.codes)},
        "matches": [match_payload(m, result.canons[m.canon_id], lang, result.tallies.get(m.canon_id))
                    for m in result.matches],
        "nearest": [{"id": m.canon_id, "known": False, **_score(m),
                     "signature": _pick(lang, result.canons[m.canon_id].signature,
                                        result.canons[m.canon_id].signature_zh)}
                    for m in result.nearest],
    }


def chain_payload(canon_id: str, steps: list[ChainStep], lang: str = "en") -> dict[str, Any]:
    return {"id": canon_id, "steps": [
        {"id": s.canon_id, "relation": s.relation, "depth": s.depth,
         "probability": s.probability, "condition": _pick(lang, s.condition, s.condition_zh)}
        for s in steps]}
