"""Presenters: one JSON payload shape per answer, and terminal text made from it."""

from errorkb.render.payloads import error_payload, findings_payload

__all__ = ["error_payload", "findings_payload"]
