"""schemathesis fuzzes the HTTP API from its own OpenAPI spec, in process, for a bounded
number of examples per operation: no answer may be a 5xx."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from errorkb.faces.web.api import create_app
from errorkb.service import KnowledgeBase
from tests.factories import make_canon, write_canon


def _app():  # type: ignore[no-untyped-def]
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="errorkb-fuzz-"))
    write_canon(root / "canon", make_canon())
    kb = KnowledgeBase.open([root / "canon"], cache_dir=root / "cache")
    return create_app(kb)


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
