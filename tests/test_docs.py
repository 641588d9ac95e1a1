"""The documentation keeps up with the code: every config key has its comment in conf/default.yaml, every table its
section in docs/tables.md with every column, every module of klout/ its line in docs/layout.md.

Pure file reading (no Spark session): each test names exactly what is missing.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from klout import config, tables

pytestmark = pytest.mark.fast  # reads files only

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_YAML = ROOT / "conf" / "default.yaml"
TABLES_MD = ROOT / "docs" / "tables.md"
LAYOUT_MD = ROOT / "docs" / "layout.md"

# ---- config keys and their comments --------------------------------------------------------------------------------

_KEY = re.compile(r"""^(?P<indent> *)(?P<key>"[^"]*"|'[^']*'|[^\s#:'"][^:#]*?)\s*:(?:\s|$)""")
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")


def commented_keys(text: str) -> dict[str, bool]:
    """Every block-style key of a YAML text, as its dotted path, and whether it has a comment: on its own line, or
    on comment lines directly above it (no blank line between)."""
    keys: dict[str, bool] = {}
    stack: list[tuple[int, str]] = []
    comment_above = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            comment_above = False
            continue
        if stripped.startswith("#"):
            comment_above = True
            continue
        m = _KEY.match(line)
        if m is None:  # a continuation of a value
            comment_above = False
            continue
        indent, key = len(m["indent"]), m["key"].strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        rest = _QUOTED.sub("", line[m.end() :])
        keys[".".join(k for _, k in stack)] = comment_above or "#" in rest
        comment_above = False
    return keys


def _unwrap(tp: typing.Any) -> typing.Any:
    """`X` for `Optional[X]` / `X | None`; any other type as it is."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def config_paths(tp: typing.Any, values: typing.Any, prefix: str = "") -> Iterator[str]:
    """The YAML path of every field of the config dataclass `tp`, recursively: a nested dataclass's fields under its
    field's path, and a mapping of dataclasses' fields under each of its keys present in `values`."""
    hints = typing.get_type_hints(tp)
    for f in dataclasses.fields(tp):
        path = f"{prefix}{f.name}"
        yield path
        field_type = _unwrap(hints[f.name])
        sub = values.get(f.name) if isinstance(values, Mapping) else None
        if dataclasses.is_dataclass(field_type):
            yield from config_paths(field_type, sub or {}, f"{path}.")
        elif typing.get_origin(field_type) in (Mapping, dict):
            value_type = _unwrap(typing.get_args(field_type)[1])
            if dataclasses.is_dataclass(value_type):
                for key, item in (sub or {}).items():
                    yield from config_paths(value_type, item or {}, f"{path}.{key}.")


def missing_comments(text: str) -> tuple[list[str], list[str]]:
    """(fields absent from the YAML text, fields present without a comment), as dotted paths."""
    keys = commented_keys(text)
    paths = list(config_paths(config.Config, yaml.safe_load(text)))
    return [p for p in paths if p not in keys], [p for p in paths if p in keys and not keys[p]]


def test_the_comment_check_finds_a_field_without_a_comment():
    text = DEFAULT_YAML.read_text()
    broken = re.sub(r"(?m)^(  damping: 0\.85) *#.*$", r"\1", text)
    broken = re.sub(r"(?m)^(    base: 1\.0) *#.*$", r"\1", broken)
    assert broken != text
    absent, uncommented = missing_comments(broken)
    assert (absent, uncommented) == ([], ["graph.damping", "graph.prior.base"])
    assert commented_keys("# the root\nwarehouse: w\n\nspark:\n  app_name: k  # name\n  master: m\n") == {
        "warehouse": True,
        "spark": False,
        "spark.app_name": True,
        "spark.master": False,
    }


def test_every_config_key_has_a_comment_in_default_yaml():
    absent, uncommented = missing_comments(DEFAULT_YAML.read_text())
    assert not absent, f"config fields missing from conf/default.yaml: {', '.join(absent)}"
    assert not uncommented, (
        f"config keys without a comment in conf/default.yaml (on the line, or on comment lines "
        f"directly above): {', '.join(uncommented)}"
    )


# ---- tables and their schema page -------------------------------------------------------------------------------


def sections(markdown: str) -> dict[str, str]:
    """`## heading` → the text up to the next `## ` heading."""
    parts = re.split(r"(?m)^## +(.+?) *$", markdown)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_table_has_its_section_in_docs_tables_md_with_every_column():
    documented = sections(TABLES_MD.read_text())
    names = [t.name for t in tables.ALL]
    missing = [n for n in names if n not in documented]
    assert not missing, f"tables of klout.tables.ALL without a '## <name>' section in docs/tables.md: {missing}"
    stale = [n for n in documented if n not in names]
    assert not stale, f"docs/tables.md has sections for tables klout.tables.ALL does not define: {stale}"
    undocumented = {
        t.name: cols
        for t in tables.ALL
        if (cols := [c for c in t.schema.fieldNames() if f"`{c}`" not in documented[t.name]])
    }
    assert not undocumented, (
        f"columns not named (as `column`) in their table's section of docs/tables.md: {undocumented}"
    )


# ---- modules and the layout table -------------------------------------------------------------------------------


def layout_rows(markdown: str) -> dict[str, str]:
    """First cell's path (in backticks) → the rest of the row, for every row of the tables in `markdown`."""
    rows = {}
    for line in markdown.splitlines():
        m = re.match(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$", line)
        if m:
            rows[m[1]] = m[2]
    return rows


def klout_modules() -> list[str]:
    """Every module of the klout package as a repository path; a subpackage's `__init__.py` as its directory."""
    out = []
    for path in sorted((ROOT / "klout").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "__pycache__" in rel or rel == "klout/_build_info.py":  # generated into builds only
            continue
        if path.name == "__init__.py" and path.parent != ROOT / "klout":
            rel = f"{path.parent.relative_to(ROOT).as_posix()}/"
        out.append(rel)
    return out


def test_every_module_of_klout_is_named_in_the_layout_table():
    rows = layout_rows(LAYOUT_MD.read_text())
    modules = klout_modules()

    def named(module: str) -> bool:
        if module in rows:
            return True
        package, _, name = module.rpartition("/")
        return f"{package}/" in rows and f"`{name}`" in rows[f"{package}/"]

    missing = [m for m in modules if not named(m)]
    assert not missing, f"modules of klout/ not named in docs/layout.md's layout table: {missing}"
    listed = {
        f"{p}{name}" for p, rest in rows.items() if p.endswith("/") for name in re.findall(r"`([\w]+\.py)`", rest)
    } | set(rows)
    stale = sorted(p for p in listed if p.startswith("klout/") and not (ROOT / p).exists())
    assert not stale, f"docs/layout.md names paths that do not exist: {stale}"
