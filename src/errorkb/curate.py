"""Curator operations on canon files: check, format, import, export.

Faces call these and present what they return; paths are always passed in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from errorkb.dialect import compile_regex
from errorkb.errors import InputError, InputTooLarge, RecordError
from errorkb.exchange import EXPORT_FORMATS, export_records, load_paths
from errorkb.match.normalize import strip_prefix
from errorkb.model import Canon, Finding
from errorkb.outcomes import Report, Tally, dead_end_fail_rate, workaround_rate
from errorkb.records import (
    Loaded,
    canon_files,
    decode_canon,
    dump_canon,
    load_yaml_canon,
    load_yaml_tree,
    parse_json,
    parse_yaml,
)
from errorkb.validate import check, summarize


@dataclass
class CheckReport:
    checked: int
    findings: list[Finding]

    @property
    def counts(self) -> dict[str, int]:
        return summarize(self.findings)

    @property
    def ok(self) -> bool:
        return self.counts["error"] == 0


def check_paths(paths: Iterable[Path], reference_dirs: Iterable[Path] = ()) -> CheckReport:
    """Validate canons at `paths`; links may also point into the `reference_dirs` corpora."""
    result = load_paths(paths)
    known: set[str] = set()
    for ref in reference_dirs:
        known |= {item.canon.id for item in load_yaml_tree(ref).loaded}
    findings = result.findings + check(result.loaded, known)
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: (order.get(f.severity, 3), f.file, f.line or 0, f.code))
    return CheckReport(len(result.loaded) + sum(f.code in ("unreadable", "too-large")
                                                for f in result.findings), findings)


@dataclass
class ImportReport:
    written: list[Path] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def canon_path(root: Path, canon: Canon) -> Path:
    domain, slug = canon.id.split("/", 1)
    return root / domain / f"{slug}.yaml"


def import_records(source: Path, dest: Path) -> ImportReport:
    """Write every readable record of `source` as a canon file under `dest`."""
    result = load_paths([source])
    report = ImportReport(findings=list(result.findings))
    seen: dict[str, str] = {}
    for item in result.loaded:
        canon = item.canon
        if "/" not in canon.id or canon.id.count("/") != 1 or ".." in canon.id:
            report.findings.append(Finding(severity="error", code="bad-id", canon_id=canon.id,
                                           field="id", file=item.file, line=item.line,
                                           message=f"id {canon.id!r} cannot name a file",
                                           hint="ids are `domain/slug`"))
            continue
        if canon.id in seen:
            report.findings.append(Finding(severity="warning", code="duplicate-id",
                                           canon_id=canon.id, field="id", file=item.file,
                                           line=item.line, message=f"id {canon.id} seen before "
                                           f"at line {seen[canon.id]}; the later record wins"))
        seen[canon.id] = str(item.line)
        path = canon_path(dest, canon)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_canon(canon), encoding="utf-8")
        report.written.append(path)
    return report


def export_paths(paths: Iterable[Path], fmt: str) -> Iterator[str]:
    """Exported text of every canon at `paths`; refuses when any canon cannot be read."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}", f"one of: {', '.join(EXPORT_FORMATS)}")
    result = load_paths(paths)
    errors = [f for f in result.findings if f.severity == "error"]
    if errors:
        first = errors[0]
        raise InputError(f"{len(errors)} record(s) cannot be read; first: {first.where}: "
                         f"{first.message}", "run `errorkb check` on the same paths")
    return export_records([item.canon for item in result.loaded], fmt)


@dataclass
class FormatReport:
    changed: list[Path] = field(default_factory=list)
    unchanged: int = 0
    findings: list[Finding] = field(default_factory=list)


def format_paths(paths: Iterable[Path], *, write: bool = True) -> FormatReport:
    """Rewrite canon files in the stable layout; files that cannot be read are left alone."""
    report = FormatReport()
    for path in paths:
        files = [(f, path) for f in canon_files(path)] if path.is_dir() else [(path, None)]
        for file, root in files:
            loaded = load_yaml_canon(file, root)
            report.findings.extend(loaded.findings)
            if not loaded.loaded:
                continue
            text = dump_canon(loaded.loaded[0].canon)
            if file.read_text(encoding="utf-8") == text:
                report.unchanged += 1
                continue
            if write:
                file.write_text(text, encoding="utf-8")
            report.changed.append(file)
    return report


_PLACEHOLDERS = {
    "<num>": r"\d+(?:\.\d+)*", "<path>": r"\S+", "<ip>": r"[0-9A-Fa-f.:]+", "<hex>": r"\S+",
    "<uuid>": r"[0-9A-Fa-f-]{36}", "<url>": r"\S+", "<str>": r"(?:'[^'\n]*'|\"[^\"\n]*\")",
}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in _PLACEHOLDERS))


def regex_from_template(template: str) -> str:
    """A regex for a masked template: literal text escaped, each placeholder generalised."""
    parts = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position:match.start()]))
        parts.append(_PLACEHOLDERS[match.group(0)])
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.sub(r"(?:\\ )+", r"\\s+", "".join(parts)).strip()


def draft_from_scan(report: dict[str, Any], number: int, domain: str) -> Canon:
    """A draft canon for unknown template `number` of a scan report (`--json` output)."""
    unknown = {u["n"]: u for u in report.get("unknown", [])}
    if number not in unknown:
        raise InputError(f"the report has no unknown template {number}",
                         f"pick one of: {', '.join(map(str, sorted(unknown))) or 'none'}")
    item = unknown[number]
    example = str(item["example"])
    regex = regex_from_template(str(item["template"]))
    if compile_regex(regex).search(example) is None:
        raise InputError(f"the regex made from template {number} does not match its example",
                         "write the canon by hand from the example")
    words = re.findall(r"[a-z0-9]+", re.sub(r"<\w+>", " ", str(item["template"]).lower()))
    slug = "-".join(w for w in words if w not in {"error", "err", "fatal"})[:60].strip("-") or "unknown"
    first_line = next((line for line in example.splitlines() if compile_regex(regex).search(line)),
                      example.splitlines()[0] if example else "")
    return Canon(id=f"{domain}/{slug}", signature=strip_prefix(first_line).strip()[:500], regex=regex,
                 domain=domain, category="runtime_error", verification_tier="draft",
                 evidence_count=0, examples=[example])


MAX_CHECK_TEXT = 256 * 1024


def check_text(text: str, known_ids: Iterable[str] = ()) -> CheckReport:
    """Validate one canon given as YAML or seed-shaped JSON text (for MCP and HTTP)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CHECK_TEXT:
        raise InputTooLarge(f"canon text over {MAX_CHECK_TEXT:,} bytes", "check one canon at a time")
    try:
        node = parse_json(text, "input") if text.lstrip()[:1] in "{[" else parse_yaml(text, "input")
    except RecordError as exc:
        return CheckReport(0, [Finding(severity="error", code="unreadable", message=exc.message,
                                       hint=exc.hint, file="input", line=exc.line)])
    canon, findings = decode_canon(node, file="input")
    if canon is None:
        return CheckReport(0, findings)
    return CheckReport(1, check([Loaded(canon, "input", None)], known_ids))


def apply_proposal(proposal: dict[str, Any], corpus_root: Path) -> Path:
    """Write a merge proposal's canon over its file, refusing when the file changed since the
    proposal was made or the proposed text is not a valid canon."""
    try:
        canon_id = str(proposal["canon_id"])
        base = str(proposal["base_sha256"])
        proposed_yaml = str(proposal["proposed_yaml"])
    except (KeyError, TypeError):
        raise InputError("not a merge proposal (needs canon_id, base_sha256, proposed_yaml)",
                         "write one with `errorkb ingest ARTICLE --out DIR`") from None
    domain, _, slug = canon_id.partition("/")
    path = corpus_root / domain / f"{slug}.yaml"
    current = load_yaml_canon(path, corpus_root)
    if not current.loaded:
        raise InputError(f"{path}: cannot read the canon the proposal is for",
                         "check the corpus folder (--corpus-dir)")
    if hashlib.sha256(dump_canon(current.loaded[0].canon).encode()).hexdigest() != base:
        raise InputError(f"{canon_id} changed since the proposal was made",
                         "ingest the article again to get a fresh proposal")
    canon, findings = decode_canon(parse_yaml(proposed_yaml, "proposal"), file="proposal")
    if canon is None or canon.id != canon_id:
        problem = findings[0].message if findings else "its id differs"
        raise InputError(f"the proposed canon is not valid: {problem}")
    path.write_text(dump_canon(canon), encoding="utf-8")
    return path


def write_ingest(payload: dict[str, Any], out_dir: Path) -> list[Path]:
    """Files for an ingest result: the draft canon at its place, or the merge proposal
    (`<domain>__<slug>.proposal.json`, applied with `--apply`) and its diff."""
    written: list[Path] = []
    if payload.get("draft_yaml"):
        canon, findings = decode_canon(parse_yaml(payload["draft_yaml"], "draft"), file="draft")
        if canon is None:
            raise InputError(f"the draft is not a valid canon: {findings[0].message}")
        path = canon_path(out_dir, canon)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(payload["draft_yaml"], encoding="utf-8")
        written.append(path)
    proposal = payload.get("proposal")
    if proposal:
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = str(proposal["canon_id"]).replace("/", "__")
        proposal_file = out_dir / f"{stem}.proposal.json"
        proposal_file.write_text(json.dumps({**proposal, "disputed": payload["disputed"],
                                             "new": payload["new"], "source": payload["source"]},
                                            ensure_ascii=False, indent=1), encoding="utf-8")
        diff_file = out_dir / f"{stem}.diff"
        diff_file.write_text(proposal["diff"], encoding="utf-8")
        written += [proposal_file, diff_file]
    return written


def apply_outcomes(corpus_dir: Path, reports: Iterable[Report]) -> list[Path]:
    """Write effective rates from outcome reports into canon files. The rates the canon stated
    before any report are kept in `extra.stated_rates` and stay the prior, so applying again
    counts each report once."""
    by_canon: dict[str, list[Report]] = {}
    for report in reports:
        by_canon.setdefault(report.canon_id, []).append(report)
    changed = []
    for item in load_yaml_tree(corpus_dir).loaded:
        canon, got = item.canon, by_canon.get(item.canon.id)
        if not got:
            continue
        stated = canon.extra.get("stated_rates") or {
            "workarounds": [w.success_rate for w in canon.workarounds],
            "dead_ends": [d.fail_rate for d in canon.dead_ends]}
        tallies: dict[tuple[str, int], Tally] = {}
        for r in got:
            t = tallies.get((r.item_kind, r.item_index), Tally())
            tallies[(r.item_kind, r.item_index)] = Tally(t.worked + r.worked, t.failed + (not r.worked))
        workarounds = [dataclasses.replace(w, success_rate=round(workaround_rate(
            stated["workarounds"][i], tallies[("workaround", i)]), 2))
            if ("workaround", i) in tallies and i < len(stated["workarounds"]) else w
            for i, w in enumerate(canon.workarounds)]
        dead_ends = [dataclasses.replace(d, fail_rate=round(dead_end_fail_rate(
            stated["dead_ends"][i], tallies[("dead_end", i)]), 2))
            if ("dead_end", i) in tallies and i < len(stated["dead_ends"]) else d
            for i, d in enumerate(canon.dead_ends)]
        confirmed = max((r.created_at[:10] for r in got if r.worked and r.created_at),
                        default=canon.last_confirmed)
        updated = dataclasses.replace(
            canon, workarounds=workarounds, dead_ends=dead_ends,
            evidence_count=len(canon.all_sources()) + len(got),
            last_confirmed=confirmed,
            last_updated=max(filter(None, [canon.last_updated, confirmed]), default=None),
            extra={**canon.extra, "stated_rates": stated})
        if updated != canon:
            Path(item.file).write_text(dump_canon(updated), encoding="utf-8")
            changed.append(Path(item.file))
    return changed
