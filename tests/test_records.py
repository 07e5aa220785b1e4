"""Reading canon files strictly, and writing them back byte for byte."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from errorkb.records import MAX_CANON_BYTES, canon_files, dump_canon, load_yaml_canon, load_yaml_tree
from tests.factories import make_canon, write_canon

VALID = dump_canon(make_canon())


def load_text(tmp_path: Path, text: str) -> tuple[list[str], list[int | None], list[str]]:
    path = write_canon(tmp_path, text=text)
    result = load_yaml_canon(path, tmp_path)
    return ([f.code for f in result.findings], [f.line for f in result.findings],
            [f.message for f in result.findings])


def test_valid_file_loads(tmp_path: Path) -> None:
    result = load_yaml_canon(write_canon(tmp_path), tmp_path)
    assert result.findings == []
    assert result.loaded[0].canon == make_canon()


def test_writer_output_is_a_fixed_point(tmp_path: Path) -> None:
    canon = make_canon(error_code="08001",
                       examples=["multi\n  line: 'quoted'\ntraceback", "no", "1e3", "2024-01-01", "0x1F"],
                       regex=r"widget: request to port (\d+) timed out|it''s")
    text = dump_canon(canon)
    path = write_canon(tmp_path, canon, text)
    reread = load_yaml_canon(path, tmp_path).loaded[0].canon
    assert reread == canon
    assert dump_canon(reread) == text


def test_regex_is_written_single_quoted_without_double_escaping() -> None:
    text = dump_canon(make_canon())
    assert r"regex: 'widget: request to port (\d+) timed out'" in text


@pytest.mark.parametrize(("replace", "code", "field_part"), [
    ("category: network_error", "category: network_error\ncolour: red", "unknown key `colour`"),
    ("evidence_count: 1", "evidence_count: one", "expected an integer"),
    ("category: network_error", "category: network_error\ncategory: config_error", "appears more"),
    ("category: network_error", "category: no", "read by YAML as a boolean"),
    ("category: network_error", "category: 1e3", "read by YAML as a float"),
    ("first_seen: '2024-01-01'", "first_seen: 2024-01-01", "read by YAML as a date"),
])
def test_strictness_errors_name_line_and_field(tmp_path: Path, replace: str, code: str,
                                               field_part: str) -> None:
    assert replace in VALID
    codes, lines, messages = load_text(tmp_path, VALID.replace(replace, code))
    assert codes and all(line is not None and line > 1 for line in lines)
    assert any(field_part in m for m in messages), messages


def test_id_must_match_path(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "other-name.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(VALID, encoding="utf-8")
    result = load_yaml_canon(path, tmp_path)
    assert [f.code for f in result.findings] == ["id-path-mismatch"]
    assert "demo/other-name" in result.findings[0].hint


def test_missing_required_field(tmp_path: Path) -> None:
    codes, _, _messages = load_text(tmp_path, VALID.replace("regex:", "regexp:"))
    assert "missing-field" in codes and "unknown-key" in codes


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "widget-timeout.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4)
    result = load_yaml_canon(path, tmp_path)
    assert [f.code for f in result.findings] == ["unreadable"]
    assert "binary" in result.findings[0].message


def test_invalid_utf8_says_where(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "widget-timeout.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(VALID.encode() + b"\ntags: [caf\xe9]\n")
    result = load_yaml_canon(path, tmp_path)
    assert result.findings[0].code == "unreadable"
    assert "UTF-8" in result.findings[0].message and result.findings[0].line


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "widget-timeout.yaml"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB on paper
    started = time.perf_counter()
    result = load_yaml_canon(path, tmp_path)
    elapsed = time.perf_counter() - started
    assert [f.code for f in result.findings] == ["too-large"]
    assert f"{MAX_CANON_BYTES:,}" in result.findings[0].message
    assert elapsed < 5  # a guard against reading it all, not a benchmark


def test_yaml_bomb_with_aliases_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    codes, _, messages = load_text(tmp_path, "\n".join(lines) + "\n")
    assert codes == ["unreadable"]
    assert "aliases" in messages[0]


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    codes, _, messages = load_text(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert codes == ["unreadable"]
    assert "nesting" in messages[0]


@pytest.mark.parametrize(("text", "needle"), [
    (VALID + "---\n" + VALID, "more than one YAML document"),
    (VALID.replace("category: network_error", "category: !!python/object:os.system x"), "tag"),
    ("id: [unclosed\n", "YAML syntax error"),
    ("", "empty"),
])
def test_refused_yaml_shapes(tmp_path: Path, text: str, needle: str) -> None:
    codes, _, messages = load_text(tmp_path, text)
    assert codes == ["unreadable"]
    assert needle in messages[0]


def test_tree_reports_bad_files_and_keeps_good_ones(tmp_path: Path) -> None:
    write_canon(tmp_path)
    write_canon(tmp_path, make_canon(id="demo/second"), text=VALID.replace(
        "id: demo/widget-timeout", "id: demo/second").replace("evidence_count: 1", "evidence_count: x"))
    result = load_yaml_tree(tmp_path)
    assert [item.canon.id for item in result.loaded] == ["demo/widget-timeout"]
    assert [f.code for f in result.findings] == ["wrong-type"]


def test_fmt_rewrites_and_then_is_stable(tmp_path: Path) -> None:
    from errorkb.curate import format_paths

    path = write_canon(tmp_path, text=VALID.replace("signature: ", "signature:    ")
                       + "locale: en\n")
    first = format_paths([tmp_path])
    assert first.changed == [path]
    assert path.read_text(encoding="utf-8") == VALID
    assert format_paths([tmp_path]).changed == []
    assert os.path.getsize(path) == len(VALID.encode())


def test_canon_files_lists_yaml_files_in_path_order(tmp_path: Path) -> None:
    root = tmp_path / "canon"
    for name in ["a/x.yaml", "a-b/x.yml", "a/b/y.yaml", "a/notes.txt", "a/.hidden.yaml", "c/.yaml"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("id: x\n")
    (root / "linked").symlink_to(root / "a", target_is_directory=True)  # not entered
    (root / "c" / "z.yaml").symlink_to(root / "a" / "x.yaml")  # a file, through a link
    (root / "c" / "folder.yaml").mkdir()  # a folder named like a file
    assert [p.relative_to(root).as_posix() for p in canon_files(root)] == [
        "a/.hidden.yaml", "a/b/y.yaml", "a/x.yaml", "a-b/x.yml", "c/z.yaml"]
