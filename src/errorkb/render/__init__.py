"""Presenters: one JSON payload shape per answer, and terminal text made from it."""

from errorkb.render.payloads import (
    LANGS,
    canon_summary,
    chain_payload,
    error_payload,
    findings_payload,
    lookup_payload,
    match_payload,
)

__all__ = ["LANGS", "canon_summary", "chain_payload", "error_payload", "findings_payload",
           "lookup_payload", "match_payload"]
