"""The `errorkb` command: parses flags, calls the core, hands results to a presenter.

Exit codes: 0 success (or only warnings), 1 a negative answer (errors found, no match,
something refused), 2 trouble (bad usage, unreadable input).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from errorkb import __version__, curate
from errorkb.errors import ErrorkbError
from errorkb.faces.config import Settings, bundled_corpus_dir, from_environment
from errorkb.render import error_payload, findings_payload
from errorkb.render.text import findings_text

F = TypeVar("F", bound=Callable[..., Any])

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


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
                err_console.print(f"[bold red]error:[/] {exc.message}", markup=True)
                if exc.hint:
                    err_console.print(f"[dim]hint: {exc.hint}[/]")
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="errorkb")
@click.pass_context
def main(ctx: click.Context) -> None:
    """errorkb: known errors, their dead ends, workarounds and what comes next."""
    ctx.obj = from_environment(os.environ, Settings())


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@json_option
@click.pass_obj
@handles_errors
def check_command(settings: Settings, paths: tuple[Path, ...], as_json: bool) -> None:
    """Validate canon files, folders or exchange files (default: the bundled corpus).

    Exit 1 when there are errors, 0 when there are only warnings.
    """
    targets = list(paths) or [bundled_corpus_dir()]
    references = [d for d in settings.corpus_dirs() if d.is_dir()]
    report = curate.check_paths(targets, references)
    payload = findings_payload(report.findings, report.checked)
    if as_json:
        emit_json(payload)
    else:
        console.print(findings_text(payload))
    sys.exit(0 if report.ok else 1)


@main.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if any file would change.")
@handles_errors
def fmt_command(paths: tuple[Path, ...], check_only: bool) -> None:
    """Rewrite canon YAML files in the one stable layout."""
    report = curate.format_paths(list(paths) or [bundled_corpus_dir()], write=not check_only)
    verb = "would reformat" if check_only else "reformatted"
    for path in report.changed:
        console.print(f"{verb} {path}")
    for f in report.findings:
        err_console.print(f"{f.where}: {f.severity} {f.code}: {f.message}", markup=False)
    console.print(f"{len(report.changed)} file(s) {verb}, {report.unchanged} unchanged")
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
    report = curate.import_records(source, dest)
    refused = [f for f in report.findings if f.severity == "error"]
    if as_json:
        emit_json({"written": len(report.written), "to": str(dest),
                   "findings": [f.to_dict() for f in report.findings]})
    else:
        for f in report.findings:
            err_console.print(f"{f.where}: {f.severity} {f.code}: {f.message}", markup=False)
        console.print(f"imported {len(report.written)} canon(s) into {dest}"
                      + (f"; {len(refused)} record(s) refused" if refused else ""))
    sys.exit(1 if refused else 0)


@main.command("export")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", default="seed-json", show_default=True,
              type=click.Choice(["seed-json", "seed-jsonl", "peer-jsonl"]))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@handles_errors
def export_command(paths: tuple[Path, ...], fmt: str, output: Path | None) -> None:
    """Export canons in the seed's exchange shape or the peer's format."""
    chunks = curate.export_paths(list(paths) or [bundled_corpus_dir()], fmt)
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with output.open("w", encoding="utf-8") as handle:
        handle.writelines(chunks)
