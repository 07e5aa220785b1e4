"""The peer dataset's shape (nested `error`, `environment`, `verdict`, ...) ↔ our canon.

Mapped where the field means something in ours; everything else kept under
`extra["peer"]` (or an item's `extra`) so that an export back gives the record again.
A peer id `domain/slug/env` becomes `domain/slug--env`: `--` joins the slug and the
environment part so `env` survives (slugs never contain `--`).
Normalised on the way in: a missing or null `condition` / `how` / `sources` becomes empty.
"""

from __future__ import annotations

from typing import Any

from errorkb.model import Canon, Confusion, DeadEnd, Transition, TransitionGraph, Version, Workaround

ENV_JOINER = "--"
_OS_MEANING_ALL = ("any", "cross-platform")


def is_peer_record(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("error"), dict) and "verdict" in data


def peer_id_to_ours(peer_id: str) -> str:
    parts = peer_id.split("/")
    if len(parts) == 3:
        return f"{parts[0]}/{parts[1]}{ENV_JOINER}{parts[2]}"
    return peer_id


def our_id_to_peer(canon_id: str) -> str:
    domain, slug = canon_id.split("/", 1)
    if ENV_JOINER in slug:
        base, env = slug.split(ENV_JOINER, 1)
        return f"{domain}/{base}/{env}"
    return canon_id


def _rest(mapping: dict[str, Any], used: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in used}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def canon_from_peer(record: dict[str, Any]) -> Canon:
    """Map one peer record; raises KeyError / TypeError / ValueError on a malformed one."""
    error = record["error"]
    verdict = record["verdict"]
    metadata = record.get("metadata") or {}
    environment = record.get("environment") or {}
    runtime = environment.get("runtime") or {}
    graph = record.get("transition_graph") or {}
    versions = []
    if runtime.get("name"):
        label = f"{runtime['name']} {runtime.get('version_range') or ''}".strip()
        versions.append(Version(version=label))
    os_name = environment.get("os")
    peer_extra = {
        **_rest(record, ("id", "error", "verdict", "dead_ends", "workarounds",
                         "transition_graph", "metadata")),
        "error": _rest(error, ("signature", "regex", "domain", "category", "first_seen",
                               "last_confirmed")),
        "verdict": _rest(verdict, ("resolvable", "fix_success_rate", "confidence",
                                   "last_updated", "summary")),
        "metadata": _rest(metadata, ("review_status", "evidence_count")),
    }
    peer_extra = {k: v for k, v in peer_extra.items() if v != {}}
    return Canon(
        id=peer_id_to_ours(record["id"]),
        signature=error["signature"],
        regex=error["regex"],
        domain=error["domain"],
        category=_text(error.get("category")),
        root_cause=_text(verdict.get("summary")),
        versions=versions,
        os_specific={os_name: ""} if os_name and os_name not in _OS_MEANING_ALL else {},
        dead_ends=[DeadEnd(
            action=d["action"], why_fails=_text(d.get("why_fails")),
            fail_rate=d.get("fail_rate"), condition=_text(d.get("condition")),
            sources=list(d.get("sources") or []),
            extra=_rest(d, ("action", "why_fails", "fail_rate", "condition", "sources")),
        ) for d in record.get("dead_ends") or []],
        workarounds=[Workaround(
            action=w["action"], success_rate=w.get("success_rate"), how=_text(w.get("how")),
            condition=_text(w.get("condition")), sources=list(w.get("sources") or []),
            extra=_rest(w, ("action", "success_rate", "how", "condition", "sources")),
        ) for w in record.get("workarounds") or []],
        transition_graph=TransitionGraph(
            leads_to=[_transition(t) for t in graph.get("leads_to") or []],
            preceded_by=[_transition(t) for t in graph.get("preceded_by") or []],
            frequently_confused_with=[Confusion(
                error_id=peer_id_to_ours(c["error_id"]), distinction=_text(c.get("distinction")),
                extra=_rest(c, ("error_id", "distinction")),
            ) for c in graph.get("frequently_confused_with") or []],
        ),
        verification_tier=_text(metadata.get("review_status")) or "auto_generated",
        confidence=verdict.get("confidence"),
        fix_success_rate=verdict.get("fix_success_rate"),
        resolvable=_text(verdict.get("resolvable")) or "true",
        first_seen=error.get("first_seen"),
        last_confirmed=error.get("last_confirmed"),
        last_updated=verdict.get("last_updated"),
        evidence_count=int(metadata.get("evidence_count") or 0),
        extra={"peer": peer_extra},
    )


def _transition(item: dict[str, Any]) -> Transition:
    return Transition(error_id=peer_id_to_ours(item["error_id"]),
                      probability=item.get("probability"), condition=_text(item.get("condition")),
                      extra=_rest(item, ("error_id", "probability", "condition")))


def canon_to_peer(canon: Canon) -> dict[str, Any]:
    """The peer record for a canon (imported or ours), keys in the peer's order."""
    kept = dict(canon.extra.get("peer") or {})
    environment = kept.pop("environment", None) or _environment(canon)
    error_rest = kept.pop("error", {})
    verdict_rest = kept.pop("verdict", {})
    metadata_rest = kept.pop("metadata", {})
    peer_id = our_id_to_peer(canon.id)
    record: dict[str, Any] = {
        "schema_version": kept.pop("schema_version", "1.0.0"),
        "id": peer_id,
        "url": kept.pop("url", f"https://deadends.dev/{peer_id}"),
        "error": {"signature": canon.signature, "regex": canon.regex, "domain": canon.domain,
                  "category": canon.category, "first_seen": canon.first_seen,
                  "last_confirmed": canon.last_confirmed, **error_rest},
        "environment": environment,
        "verdict": {"resolvable": canon.resolvable, "fix_success_rate": canon.fix_success_rate,
                    "confidence": canon.confidence, "last_updated": canon.last_updated,
                    "summary": canon.root_cause, **verdict_rest},
        "dead_ends": [{"action": d.action, "why_fails": d.why_fails, "fail_rate": d.fail_rate,
                       "sources": d.sources, "condition": d.condition, **d.extra}
                      for d in canon.dead_ends],
        "workarounds": [{"action": w.action, "success_rate": w.success_rate, "how": w.how,
                         "sources": w.sources, "condition": w.condition, **w.extra}
                        for w in canon.workarounds],
        "transition_graph": {
            "leads_to": [_peer_transition(t) for t in canon.transition_graph.leads_to],
            "preceded_by": [_peer_transition(t) for t in canon.transition_graph.preceded_by],
            "frequently_confused_with": [
                {"error_id": our_id_to_peer(c.error_id), "distinction": c.distinction, **c.extra}
                for c in canon.transition_graph.frequently_confused_with],
        },
        "metadata": {"review_status": canon.verification_tier,
                     "evidence_count": canon.evidence_count, **metadata_rest},
    }
    record.update(kept)
    return record


def _peer_transition(t: Transition) -> dict[str, Any]:
    return {"error_id": our_id_to_peer(t.error_id), "probability": t.probability,
            "condition": t.condition, **t.extra}


def _environment(canon: Canon) -> dict[str, Any]:
    runtime = canon.versions[0].version.split(" ", 1) if canon.versions else [canon.domain]
    os_names = list(canon.os_specific) or ["any"]
    return {"runtime": {"name": runtime[0], "version_range": runtime[1] if len(runtime) > 1 else ""},
            "os": os_names[0]}
