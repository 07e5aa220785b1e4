"""Import and export through the CLI: the seed round-trips, the peer format maps both ways."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from errorkb.exchange import load_paths
from errorkb.exchange.peer import canon_to_peer
from errorkb.faces.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout  # stdout only: an index build reports on stderr


def test_seed_round_trips_every_field(seed_path: Path, tmp_path: Path) -> None:
    code, _ = run("import", str(seed_path), "--to", str(tmp_path / "corpus"))
    assert code == 0
    written = list((tmp_path / "corpus").rglob("*.yaml"))
    assert [p.relative_to(tmp_path / "corpus").as_posix() for p in written] == [
        "embedded/lwip-tcp-connection-reset-during-handshake.yaml"]
    code, out = run("export", str(tmp_path / "corpus"), "--format", "seed-json")
    assert code == 0
    assert json.loads(out) == json.loads(seed_path.read_text(encoding="utf-8"))


def test_seed_check_reports_its_five_real_defects(seed_path: Path) -> None:
    code, out = run("check", str(seed_path), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["counts"] == {"error": 0, "warning": 5, "info": 0}
    assert sorted(f["code"] for f in payload["findings"]) == [
        "date-order", "how-repeats-action", "no-sources", "not-chinese", "unsupported-confidence"]
    messages = " ".join(f["message"] for f in payload["findings"])
    assert "confidence 0.82" in messages and "first_seen 2024-08-22" in messages


def test_peer_records_map_both_ways_and_bad_ones_are_reported(tmp_path: Path) -> None:
    sample = FIXTURES / "peer-sample.jsonl"
    result = load_paths([sample])
    assert [item.canon.id for item in result.loaded] == [
        "demo/widget-timeout--widget2-linux", "demo/widget-crash--widget2-linux"]
    assert {f.line for f in result.findings} == {3, 4, 5}
    first = json.loads(sample.read_text(encoding="utf-8").splitlines()[0])
    canon = result.loaded[0].canon
    assert canon.root_cause == "The widget server is overloaded."
    assert canon.verification_tier == "human_reviewed" and canon.evidence_count == 2
    assert canon.workarounds[0].extra == {"tradeoff": "more memory"}
    assert canon.transition_graph.leads_to[0].error_id == "demo/widget-crash--widget2-linux"
    back = canon_to_peer(canon)
    first["workarounds"][1].update(how="", condition="")
    assert back == first


def test_peer_import_keeps_going_past_bad_records(tmp_path: Path) -> None:
    code, out = run("import", str(FIXTURES / "peer-sample.jsonl"), "--to", str(tmp_path), "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["written"] == 2
    assert {f["line"] for f in payload["findings"]} == {3, 4, 5}
    assert (tmp_path / "demo" / "widget-timeout--widget2-linux.yaml").exists()
