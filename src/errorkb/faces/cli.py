"""The `errorkb` command: parses flags, calls the core, hands results to a presenter.

Exit codes: 0 success (or only warnings), 1 a negative answer (errors found, no match,
something refused), 2 trouble (bad usage, unreadable input).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from errorkb import __version__
from errorkb.errors import ErrorkbError, InputError, NotFound
from errorkb.faces.config import Settings, bundled_corpus_dir, from_environment
from errorkb.index import build_index
from errorkb.outcomes import OutcomeStore, Report, open_outcome_store
from errorkb.records import to_data
from errorkb.render import (
    LANGS,
    canon_summary,
    chain_payload,
    error_payload,
    findings_payload,
    lookup_payload,
)
from errorkb.service import KnowledgeBase, default_index_path

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


@cache
def _terminal(stderr: bool) -> Console:
    """A rich console, made on first use: importing rich takes about a tenth of a lookup's
    start-up, and JSON answers never print through it."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def console() -> Console:
    return _terminal(False)


def err_console() -> Console:
    return _terminal(True)


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def handles_errors(fn: F) -> F:
    """Turn an ErrorkbError into its message, hint and exit code; nothing else is caught."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ErrorkbError as exc:
            if kwargs.get("as_json"):
                emit_json(error_payload(exc))
            else:
                err_console().print(f"[bold red]error:[/] {exc.message}", markup=True)
                if exc.hint:
                    err_console().print(f"[dim]hint: {exc.hint}[/]")
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


PROGRESS_BYTES = 8 * 1024 * 1024

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="errorkb")
@click.option("--db", help="Outcome store URL: sqlite:///path, or postgresql://... for the "
              "published corpus and outcomes (or ERRORKB_DB).")
@click.pass_context
@handles_errors
def main(ctx: click.Context, db: str | None) -> None:
    """errorkb: known errors, their dead ends, workarounds and what comes next."""
    settings = from_environment(os.environ, Settings())
    ctx.obj = replace(settings, db=db) if db else settings


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@json_option
@click.pass_obj
@handles_errors
def check_command(settings: Settings, paths: tuple[Path, ...], as_json: bool) -> None:
    """Validate canon files, folders or exchange files (default: the bundled corpus).

    Exit 1 when there are errors, 0 when there are only warnings.
    """
    from errorkb import curate  # imported by the commands that need it: lookups start faster

    targets = list(paths) or [bundled_corpus_dir()]
    references = [d for d in settings.corpus_dirs() if d.is_dir()]
    report = curate.check_paths(targets, references)
    payload = findings_payload(report.findings, report.checked)
    if as_json:
        emit_json(payload)
    else:
        from errorkb.render.text import findings_text  # rich, only for text output

        console().print(findings_text(payload))
    sys.exit(0 if report.ok else 1)


@main.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if any file would change.")
@handles_errors
def fmt_command(paths: tuple[Path, ...], check_only: bool) -> None:
    """Rewrite canon YAML files in the one stable layout."""
    from errorkb import curate  # imported by the commands that need it: lookups start faster

    report = curate.format_paths(list(paths) or [bundled_corpus_dir()], write=not check_only)
    verb = "would reformat" if check_only else "reformatted"
    for path in report.changed:
        console().print(f"{verb} {path}")
    for f in report.findings:
        err_console().print(f"{f.where}: {f.severity} {f.code}: {f.message}", markup=False)
    console().print(f"{len(report.changed)} file(s) {verb}, {report.unchanged} unchanged")
    failed = report.findings or (check_only and report.changed)
    sys.exit(1 if failed else 0)


@main.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "dest", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Corpus folder to write canon files into.")
@json_option
@handles_errors
def import_command(source: Path, dest: Path, as_json: bool) -> None:
    """Import seed-shaped JSON (object, array, JSON Lines) or peer-format JSON Lines."""
    from errorkb import curate  # imported by the commands that need it: lookups start faster

    report = curate.import_records(source, dest)
    refused = [f for f in report.findings if f.severity == "error"]
    if as_json:
        emit_json({"written": len(report.written), "to": str(dest),
                   "findings": [f.to_dict() for f in report.findings]})
    else:
        for f in report.findings:
            err_console().print(f"{f.where}: {f.severity} {f.code}: {f.message}", markup=False)
        console().print(f"imported {len(report.written)} canon(s) into {dest}"
                        + (f"; {len(refused)} record(s) refused" if refused else ""))
    sys.exit(1 if refused else 0)


@main.command("export")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", default="seed-json", show_default=True,
              type=click.Choice(["seed-json", "seed-jsonl", "peer-jsonl"]))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--site", "site_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Instead: write the read API as static JSON, llms.txt and an NDJSON dump "
                   "for the bundled corpus plus PATHS.")
@click.pass_obj
@handles_errors
def export_command(settings: Settings, paths: tuple[Path, ...], fmt: str, output: Path | None,
                   site_dir: Path | None) -> None:
    """Export canons in the seed's exchange shape or the peer's format (or as a static site)."""
    from errorkb import curate
    from errorkb.site import write_site

    if site_dir is not None:
        kb = open_kb(settings, paths, None)
        console().print(f"wrote {write_site(kb, site_dir)} files under {site_dir}", markup=False)
        return
    chunks = curate.export_paths(list(paths) or [bundled_corpus_dir()], fmt)
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with output.open("w", encoding="utf-8") as handle:
        handle.writelines(chunks)


def _set_db(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value:
        ctx.obj = replace(ctx.obj, db=value)


def corpus_options(fn: F) -> F:
    """--corpus DIR (repeatable) and --no-bundled, applied over the environment's settings;
    --db URL, as the group's option takes it, so `errorkb serve --db URL` works too."""
    fn = click.option("--db", expose_value=False, callback=_set_db,
                      help="sqlite:///path, or postgresql://... to publish (build) or serve the "
                           "corpus from PostgreSQL (or ERRORKB_DB).")(fn)
    fn = click.option("--no-bundled", is_flag=True, default=None,
                      help="Leave the bundled corpus out.")(fn)
    fn = click.option("--corpus", "corpus", multiple=True,
                      type=click.Path(exists=True, path_type=Path),
                      help="A canon folder or exchange file stacked after the bundled corpus "
                           "(repeatable; later ones win on the same id).")(fn)
    return fn


def _announce_build(path: Path) -> None:
    err_console().print(f"[dim]building the index {path} (first use or corpus changed; "
                        "this takes a few seconds)…[/]")


def outcome_store(settings: Settings, create: bool) -> OutcomeStore | None:
    """The outcome store: opened when it exists (reads) or when `create` (writes)."""
    return open_outcome_store(settings.db_url(), create=create)


def writable_store(settings: Settings) -> OutcomeStore:
    """The outcome store, created when missing: a write is coming."""
    store = outcome_store(settings, create=True)
    assert store is not None  # create=True always opens one
    return store


def open_kb(settings: Settings, corpus: tuple[Path, ...], no_bundled: bool | None) -> KnowledgeBase:
    url = settings.corpus_db()
    if url is not None:  # the corpus is the one published to the database
        if corpus or no_bundled is not None:
            raise InputError("--corpus and --no-bundled choose what `errorkb build --db URL` "
                             "publishes; with a PostgreSQL --db the published corpus is served",
                             "publish with `errorkb build --db URL --corpus DIR`, then leave "
                             "them out here")
        return KnowledgeBase.open_published(url, cache_dir=settings.cache_dir,
                                            outcomes=outcome_store(settings, create=False))
    settings = replace(settings, corpus=settings.corpus + corpus,
                       no_bundled=settings.no_bundled if no_bundled is None else no_bundled)
    dirs = settings.corpus_dirs()
    bundled_only = not settings.corpus
    kb = KnowledgeBase.open(dirs, cache_dir=settings.cache_dir, index_path=settings.index,
                            rebuild_stale=bundled_only, on_build=_announce_build,
                            outcomes=outcome_store(settings, create=False))
    if kb.stale:
        flags = " ".join(f"--corpus {p}" for p in settings.corpus)
        err_console().print(f"[yellow]warning:[/] the index is older than the corpus; "
                            f"run `errorkb build {flags}` to refresh it")
    return kb


lang_option = click.option("--lang", type=click.Choice(LANGS), default=None,
                           help="Answer language (default: en, or ERRORKB_LANG).")


def read_input(text: str | None, file: Path | None) -> str:
    if file is not None:
        return file.read_text(encoding="utf-8", errors="replace")
    if text is None or text == "-":
        return sys.stdin.read()
    return text


@main.command("build")
@corpus_options
@click.option("--index", "index_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the index (default: the cache folder).")
@json_option
@click.pass_obj
@handles_errors
def build_command(settings: Settings, corpus: tuple[Path, ...], no_bundled: bool | None,
                  index_path: Path | None, as_json: bool) -> None:
    """Build the index for the bundled corpus plus any --corpus folders.

    With --db postgresql://... publish them as a new corpus version instead, which every
    `errorkb serve --db` on that database picks up within seconds.
    """
    settings = replace(settings, corpus=settings.corpus + corpus,
                       no_bundled=settings.no_bundled if no_bundled is None else no_bundled)
    dirs = settings.corpus_dirs()
    url = settings.corpus_db()
    if url is not None:
        if index_path is not None:
            raise InputError("--index names a local index; with a PostgreSQL --db, build "
                             "publishes the corpus to the database", "leave --index out")
        publish(url, settings, dirs, as_json)
        return
    target = index_path or settings.index or default_index_path(dirs, settings.cache_dir)
    report = build_index(dirs, target)
    errors = [f for f in report.findings if f.severity == "error"]
    if as_json:
        emit_json({"index": str(report.path), "canons": report.canons,
                   "seconds": round(report.seconds, 3), "skipped": len(errors)})
    else:
        for f in errors:
            err_console().print(f"{f.where}: skipped: {f.message}", markup=False)
        console().print(f"indexed {report.canons} canon(s) into {report.path} "
                        f"in {report.seconds:.2f}s")
    sys.exit(1 if errors else 0)


def publish(url: str, settings: Settings, dirs: tuple[Path, ...], as_json: bool) -> None:
    """`errorkb build --db postgresql://...`: a new corpus version unless nothing changed."""
    import getpass
    import socket

    from errorkb.index.published import publish_corpus

    try:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        who = f"unknown@{socket.gethostname()}"
    report = publish_corpus(url, dirs, cache_dir=settings.cache_dir, published_by=who)
    errors = [f for f in report.findings if f.severity == "error"]
    version = report.version
    if as_json:
        emit_json({"published": report.created, "version": version and version.version,
                   "fingerprint": version and version.fingerprint,
                   "canons": version and version.canons, "seconds": round(report.seconds, 3),
                   "skipped": len(errors)})
    else:
        for f in errors:
            err_console().print(f"{f.where}: {f.message}", markup=False)
        if version is None:
            err_console().print(f"nothing published: {len(errors)} record(s) cannot be read; fix "
                                "them (`errorkb check`) and publish again", markup=False)
        elif report.created:
            console().print(f"published corpus version {version.version} ({version.canons} "
                            f"canon(s), fingerprint {version.fingerprint[:12]}) in "
                            f"{report.seconds:.2f}s", markup=False)
        else:
            console().print(f"unchanged: corpus version {version.version} has this content "
                            f"(fingerprint {version.fingerprint[:12]}); nothing published",
                            markup=False)
    sys.exit(1 if version is None else 0)


@main.command("lookup")
@click.argument("text", required=False)
@click.option("--file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the input from a file.")
@click.option("--limit", default=3, show_default=True, type=click.IntRange(1, 50))
@click.option("--domain", help="Only canons of this domain.")
@click.option("--env", help='Your environment, e.g. "lwIP 2.1.3; linux".')
@lang_option
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def lookup_command(settings: Settings, text: str | None, file: Path | None, limit: int,
                   domain: str | None, env: str | None, lang: str | None,
                   corpus: tuple[Path, ...], no_bundled: bool | None, as_json: bool) -> None:
    """Look up an error message, traceback or log chunk (TEXT, '-' or --file for stdin/file).

    Exit 0 when a known error matched, 1 when none did.
    """
    kb = open_kb(settings, corpus, no_bundled)
    result = kb.lookup(read_input(text, file), env=env, limit=limit, domain=domain)
    payload = lookup_payload(result, lang or settings.lang)
    if as_json:
        emit_json(payload)
    else:
        from errorkb.render.text import lookup_text

        console().print(lookup_text(payload, (lang or settings.lang) == "zh"))
    sys.exit(0 if result.found else 1)


@main.command("batch")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--env", help="Your environment, applied to every input.")
@lang_option
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def batch_command(settings: Settings, file: Path, env: str | None, lang: str | None,
                  corpus: tuple[Path, ...], no_bundled: bool | None, as_json: bool) -> None:
    """Look up many inputs: one per line, or JSON Lines with a `text` field."""
    kb = open_kb(settings, corpus, no_bundled)
    stream = sys.stdin if str(file) == "-" else file.open(encoding="utf-8", errors="replace")
    found_any = False
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        text = line.rstrip("\n")
        if text.lstrip().startswith("{"):
            try:
                text = str(json.loads(text)["text"])
            except (ValueError, KeyError, TypeError):
                raise InputError(f"line {number}: not JSON with a `text` field",
                                 "give one text per line, or JSON Lines with `text`") from None
        result = kb.lookup(text, env=env)
        found_any = found_any or result.found
        payload = lookup_payload(result, lang or settings.lang)
        if as_json:
            click.echo(json.dumps({"line": number, **payload}, ensure_ascii=False))
        else:
            best = payload["matches"][0]["id"] if payload["matches"] else "no known match"
            console().print(f"{number}: {best}", markup=False)
    sys.exit(0 if found_any else 1)


@main.command("search")
@click.argument("query")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 50))
@click.option("--domain", help="Only canons of this domain.")
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def search_command(settings: Settings, query: str, limit: int, domain: str | None,
                   corpus: tuple[Path, ...], no_bundled: bool | None, as_json: bool) -> None:
    """Find canons by words, codes or message fragments (no threshold)."""
    kb = open_kb(settings, corpus, no_bundled)
    matches = kb.search(query, limit=limit, domain=domain)
    rows = [{"id": m.canon_id, "score": m.score, "signature": kb.canon(m.canon_id).signature}
            for m in matches]
    if as_json:
        emit_json({"query": query, "results": rows})
    else:
        for row in rows:
            console().print(f"{row['score']:.2f}  {row['id']}  {row['signature']}", markup=False)
    sys.exit(0 if rows else 1)


@main.command("show")
@click.argument("canon_id")
@lang_option
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def show_command(settings: Settings, canon_id: str, lang: str | None, corpus: tuple[Path, ...],
                 no_bundled: bool | None, as_json: bool) -> None:
    """Show one canon: root cause, dead ends, workarounds, links."""
    kb = open_kb(settings, corpus, no_bundled)
    canon = kb.canon(canon_id)
    if as_json:
        emit_json(to_data(canon))
    else:
        from errorkb.render.text import canon_text

        console().print(f"[bold]{canon.id}[/]")
        console().print("\n".join(canon_text(canon_summary(canon, lang or settings.lang),
                                             (lang or settings.lang) == "zh")))


@main.command("chain")
@click.argument("canon_id")
@click.option("--depth", default=2, show_default=True, type=click.IntRange(1, 5))
@lang_option
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def chain_command(settings: Settings, canon_id: str, depth: int, lang: str | None,
                  corpus: tuple[Path, ...], no_bundled: bool | None, as_json: bool) -> None:
    """What tends to come before and after an error."""
    kb = open_kb(settings, corpus, no_bundled)
    payload = chain_payload(canon_id, kb.chain(canon_id, depth), lang or settings.lang)
    if as_json:
        emit_json(payload)
        return
    console().print(f"[bold]{canon_id}[/]")
    for step in payload["steps"]:
        arrow = "→" if step["relation"] == "leads_to" else "←"
        console().print(f"{'  ' * step['depth']}{arrow} {step['id']}  {step['condition']}",
                        markup=False)


@main.command("scan")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--follow", is_flag=True, help="Keep reading what is appended (one file); Ctrl-C "
              "prints the report.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report here.")
@click.option("--fail-on", help="Exit 1 when this canon id (or `any` known error) is found, "
              "else 0: for CI pipelines.")
@lang_option
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def scan_command(settings: Settings, files: tuple[Path, ...], follow: bool, html_path: Path | None,
                 fail_on: str | None, lang: str | None, corpus: tuple[Path, ...],
                 no_bundled: bool | None, as_json: bool) -> None:
    """Find every known error in logs (files, gzip files, or - for standard input).

    Exit like grep: 0 when known errors were found, 1 when none, 2 on trouble;
    with --fail-on, 1 when that error was found and 0 otherwise.
    """
    from rich.progress import Progress

    from errorkb.render.scan import scan_html, scan_text
    from errorkb.scan.reader import follow_chunks

    if follow and (len(files) != 1 or str(files[0]) == "-"):
        raise InputError("--follow takes exactly one file", "errorkb scan --follow app.log")
    kb = open_kb(settings, corpus, no_bundled)
    language = lang or settings.lang
    with contextlib.ExitStack() as stack:
        sources = [(str(f), sys.stdin.buffer if str(f) == "-" else
                    stack.enter_context(f.open("rb"))) for f in files]
        total = sum(f.stat().st_size for f in files if str(f) != "-")
        progress = None
        if total > PROGRESS_BYTES and not as_json and err_console().is_terminal:
            progress = stack.enter_context(Progress(transient=True, console=err_console()))
            task = progress.add_task("scanning", total=total)
        report = kb.scan(sources, follow=follow_chunks if follow else None,
                         on_progress=(lambda done: progress.update(task, completed=done))
                         if progress else None)
    payload = report.to_dict()
    canons = {g["id"]: kb.canon(g["id"]) for g in payload["known"]}
    if html_path is not None:
        html_path.write_text(scan_html(payload, canons, language), encoding="utf-8")
    if as_json:
        emit_json(payload)
    else:
        console().print(scan_text(payload, canons, language))
    if fail_on:
        sys.exit(1 if report.found(fail_on) else 0)
    sys.exit(0 if report.found() else 1)


@main.command("new")
@click.option("--from-scan", "report_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A report written by `errorkb scan --json`.")
@click.option("--template", "number", required=True, type=int, help="Unknown template number.")
@click.option("--domain", default="local", show_default=True)
@click.option("--out", "out_dir", default=Path("canon"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@handles_errors
def new_command(report_path: Path, number: int, domain: str, out_dir: Path) -> None:
    """Start a draft canon from an unknown error template of a scan report."""
    from errorkb import curate  # imported by the commands that need it: lookups start faster
    from errorkb.records import dump_canon

    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{report_path}: not a JSON scan report ({exc})",
                         "write one with `errorkb scan --json FILE > report.json`") from None
    canon = curate.draft_from_scan(report, number, domain)
    path = curate.canon_path(out_dir, canon)
    if path.exists():
        raise InputError(f"{path} exists already", "edit it, or pick another --domain")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_canon(canon), encoding="utf-8")
    console().print(f"wrote {path}; fill in the root cause, dead ends and workarounds, then "
                    f"`errorkb check {path}`", markup=False)


@main.command("mcp")
@click.option("--allow-path", "allow_paths", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A directory whose files the scan_log tool may read (repeatable).")
@corpus_options
@click.pass_obj
@handles_errors
def mcp_command(settings: Settings, allow_paths: tuple[Path, ...], corpus: tuple[Path, ...],
                no_bundled: bool | None) -> None:
    """Serve the MCP tools over stdio (for Claude Desktop, Claude Code, Cursor, VS Code)."""
    from errorkb.faces.mcp_server import build_server

    kb = open_kb(settings, corpus, no_bundled)
    kb.outcomes = writable_store(settings)  # report_outcome writes (local user)
    kb.warm_up()
    url = settings.corpus_db()
    if url is not None:
        kb.follow_published(url, cache_dir=settings.cache_dir, poll_seconds=settings.poll_seconds)
    build_server(kb, allow_paths).run("stdio")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Allow browser calls from this origin (repeatable; default: none).")
@click.option("--allow-path", "allow_paths", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A directory whose files the scan_log MCP tool may read (repeatable).")
@click.option("--poll-seconds", type=click.FloatRange(0.1, 3600), default=None,
              help="With a PostgreSQL --db: check for a newer corpus version this often, "
                   "besides LISTEN/NOTIFY (default: 5, or ERRORKB_POLL_SECONDS).")
@corpus_options
@click.pass_obj
@handles_errors
def serve_command(settings: Settings, host: str, port: int, cors_origins: tuple[str, ...],
                  allow_paths: tuple[Path, ...], poll_seconds: float | None,
                  corpus: tuple[Path, ...], no_bundled: bool | None) -> None:
    """Serve the HTTP JSON API (/api/v1), and MCP over streamable HTTP at /mcp/.

    With --db postgresql://... serve the latest published corpus version and pick up newer
    ones as they are published.
    """
    import logging

    import uvicorn

    from errorkb.faces.web.api import create_app

    kb = open_kb(settings, corpus, no_bundled)
    kb.outcomes = writable_store(settings)
    kb.warm_up()
    url = settings.corpus_db()
    if url is not None:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logging.getLogger("errorkb").addHandler(handler)
        logging.getLogger("errorkb").setLevel(logging.INFO)
        kb.follow_published(url, cache_dir=settings.cache_dir,
                            poll_seconds=poll_seconds or settings.poll_seconds)
        err_console().print(f"serving corpus version {kb.corpus_version}", markup=False)
    app = create_app(kb, cors_origins=cors_origins, allow_paths=allow_paths)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@main.command("ingest")
@click.argument("article", required=False,
                type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--source", help="URL the article came from (default: its file name).")
@click.option("--domain", default="draft", show_default=True, help="Domain of a new draft canon.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the draft canon or the merge proposal (.proposal.json + .diff) here.")
@click.option("--apply", "proposal_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Apply a merge proposal written by --out to the corpus in --corpus-dir.")
@click.option("--corpus-dir", default=Path("canon"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Corpus --apply writes into.")
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def ingest_command(settings: Settings, article: Path | None, source: str | None, domain: str,
                   out_dir: Path | None, proposal_path: Path | None, corpus_dir: Path,
                   corpus: tuple[Path, ...], no_bundled: bool | None, as_json: bool) -> None:
    """Turn an article (text, Markdown, HTML) into a draft canon, or a merge proposal for the
    canon it is about; claims that contradict that canon are marked disputed, not added."""
    from errorkb import curate
    from errorkb.render.ingest import ingest_text

    if proposal_path is not None:
        try:
            proposal = json.loads(proposal_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{proposal_path}: not a proposal JSON file") from None
        written = curate.apply_proposal(proposal, corpus_dir)
        console().print(f"applied the proposal to {written}", markup=False)
        return
    if article is None:
        raise InputError("give an article file, or - for standard input", "errorkb ingest post.html")
    data = sys.stdin.buffer.read() if str(article) == "-" else article.read_bytes()
    kb = open_kb(settings, corpus, no_bundled)
    result = kb.ingest(data, source=source or str(article), domain=domain,
                       today=datetime.date.today().isoformat())
    payload = result.to_dict()
    if out_dir is not None:
        payload["written"] = [str(p) for p in curate.write_ingest(payload, out_dir)]
    if as_json:
        emit_json(payload)
        return
    console().print(ingest_text(payload))


@main.command("report")
@click.argument("canon_id")
@click.option("--workaround", type=click.IntRange(0), help="Index of the workaround tried.")
@click.option("--dead-end", type=click.IntRange(0), help="Index of the dead end tried.")
@click.option("--worked", required=True, type=click.Choice(["yes", "no"]))
@click.option("--env", default="", help='Where, e.g. "Python 3.12; linux".')
@click.option("--note", default="")
@click.option("--key", help="Idempotency key (default: a new random one; reuse it on retries).")
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def report_command(settings: Settings, canon_id: str, workaround: int | None,
                   dead_end: int | None, worked: str, env: str, note: str, key: str | None,
                   corpus: tuple[Path, ...], no_bundled: bool | None, as_json: bool) -> None:
    """Report whether a workaround or a dead end worked; rates follow at read time."""
    import uuid

    entry = Report.for_item(canon_id, workaround=workaround, dead_end=dead_end,
                            worked=worked == "yes", idempotency_key=key or uuid.uuid4().hex,
                            env=env[:500], note=note[:2000], token_name="cli")
    kb = open_kb(settings, corpus, no_bundled)
    kb.outcomes = writable_store(settings)
    result = kb.report(entry)
    if as_json:
        emit_json(result)
    else:
        console().print(f"{'stored' if result['stored'] else 'already counted'}: {result['reports']} "
                        f"report(s) for {canon_id} {entry.item_kind} {entry.item_index}", markup=False)


@main.group("token")
def token_group() -> None:
    """API tokens for writes over HTTP (stored hashed; shown once)."""


@token_group.command("create")
@click.argument("name")
@click.pass_obj
@handles_errors
def token_create(settings: Settings, name: str) -> None:
    store = writable_store(settings)
    try:
        token = store.create_token(name)
    except ValueError as exc:
        raise InputError(str(exc), "pick another name") from None
    click.echo(token)


@token_group.command("list")
@click.pass_obj
@handles_errors
def token_list(settings: Settings) -> None:
    store = writable_store(settings)
    for name, created, revoked in store.list_tokens():
        click.echo(f"{name}\tcreated {created}" + (f"\trevoked {revoked}" if revoked else ""))


@token_group.command("revoke")
@click.argument("name")
@click.pass_obj
@handles_errors
def token_revoke(settings: Settings, name: str) -> None:
    store = writable_store(settings)
    if not store.revoke_token(name):
        raise NotFound(f"no live token named {name!r}")
    click.echo(f"revoked {name}")


@main.group("outcomes")
def outcomes_group() -> None:
    """Outcome reports for curators."""


@outcomes_group.command("export")
@json_option
@click.pass_obj
@handles_errors
def outcomes_export(settings: Settings, as_json: bool) -> None:
    """Every report, one per line (JSON Lines with --json, tab-separated otherwise)."""
    store = outcome_store(settings, create=False)
    for report in store.export() if store else []:
        if as_json:
            click.echo(json.dumps(dataclasses.asdict(report), ensure_ascii=False))
        else:
            click.echo("\t".join(str(v) for v in dataclasses.astuple(report)))


@outcomes_group.command("apply")
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
@handles_errors
def outcomes_apply(settings: Settings, corpus_dir: Path) -> None:
    """Write measured rates, evidence_count and last_confirmed into canon files."""
    from errorkb import curate  # imported by the commands that need it: lookups start faster

    store = outcome_store(settings, create=False)
    changed = curate.apply_outcomes(corpus_dir, store.export() if store else iter(()))
    for path in changed:
        console().print(f"updated {path}", markup=False)
    console().print(f"{len(changed)} canon file(s) updated", markup=False)


@main.command("stats")
@corpus_options
@json_option
@click.pass_obj
@handles_errors
def stats_command(settings: Settings, corpus: tuple[Path, ...], no_bundled: bool | None,
                  as_json: bool) -> None:
    """Canons per domain, the engine in use and the index file."""
    stats = open_kb(settings, corpus, no_bundled).stats()
    if as_json:
        emit_json(stats)
        return
    domains = stats.pop("domains")
    assert isinstance(domains, dict)
    for key, value in stats.items():
        console().print(f"{key}: {value}", markup=False)
    for domain, count in domains.items():
        console().print(f"  {domain:<12} {count}", markup=False)
