"""The house's shape: no import circle in klout/, and no import against the data's direction.

Imports are read from the source (every `import` that runs, also inside functions; not those under TYPE_CHECKING),
so the test costs no Spark.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

KLOUT = Path(__file__).resolve().parent.parent / "klout"

# the layers, lowest first: a module may import its own layer or lower ones, never a higher one
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "klout",
            "errors",
            "paths",
            "clock",
            "progress",
            "version",
            "config",
            "schemas",
            "tables",
            "caching",
            "persons",
            "checkpoints",
            "session",
            "warehouse",
            "weights",
            "window",
        ),
    ),
    ("operations support", ("runlog", "quality", "exclusion", "erasure", "maintain", "execution", "doctor")),
    ("raw -> bronze", ("ingest", "synth")),
    ("features", ("features",)),
    ("graph", ("graph",)),
    ("score", ("score",)),
    ("publish", ("publish", "summary")),
    ("commands", ("pipeline", "privacy", "evaluation")),
    ("entry points", ("cli", "__main__")),
]


def modules() -> dict[str, Path]:
    """klout's modules by dotted name (a package by its own name)."""
    return {
        ".".join(p.relative_to(KLOUT.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in KLOUT.rglob("*.py")
    }


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines |= {n.lineno for stmt in node.body for n in ast.walk(stmt) if hasattr(n, "lineno")}
    return lines


def imports() -> dict[str, set[str]]:
    """Per klout module, the klout modules it imports (its own parent packages left out: importing a submodule
    runs them anyway)."""
    mods = modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            else:
                continue
            edges[name] |= {f for f in found if f in mods and f != name and not name.startswith(f + ".")}
    return edges


def layer_of(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else parts[0]
    for rank, (_, names) in enumerate(LAYERS):
        if key in names:
            return rank
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py: place it where the data passes it")


def test_no_import_circle_in_klout():
    edges = imports()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(a: str) -> None:  # Tarjan's strongly connected components
        index[a] = low[a] = len(index)
        stack.append(a)
        for b in edges[a]:
            if b not in index:
                visit(b)
                low[a] = min(low[a], low[b])
            elif b in stack:
                low[a] = min(low[a], index[b])
        if low[a] == index[a]:
            component = []
            while True:
                m = stack.pop()
                component.append(m)
                if m == a:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for m in sorted(edges):
        if m not in index:
            visit(m)
    assert circles == []


def test_every_import_follows_the_data():
    backwards = sorted(
        f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
        for a, targets in imports().items()
        for b in targets
        if layer_of(b) > layer_of(a)
    )
    assert backwards == []


def test_the_layout_check_sees_imports_inside_functions_and_not_type_checking(tmp_path, monkeypatch):
    pkg = tmp_path / "klout"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "config.py").write_text("def f():\n    from klout import cli\n")
    (pkg / "cli.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from klout import config\n")
    monkeypatch.setitem(globals(), "KLOUT", pkg)
    assert imports() == {"klout": set(), "klout.config": {"klout.cli"}, "klout.cli": set()}


# The only modules that touch the driver's own disk, and what they touch: never a warehouse, checkpoint or source
# path, which go through Spark's and Delta's readers and writers and klout.paths (pyarrow's filesystems).
LOCAL_FILES = {
    "klout.config": "the YAML configuration files",
    "klout.version": "the source checkout's .git, for the code version",
    "klout.session": "the launched JVM's own log file in the temporary directory",
    "klout.paths": "resolved(): a local path made absolute, no I/O",
    "klout.warehouse": "_held(): the kill tests' flag file",
}
LOCAL_FILE_API = re.compile(r"\bos\.path\b|(?<![.\w])open\(|\bpathlib\b|(?<![.\w])Path\b|\btempfile\b|\bshutil\b")


def test_no_local_file_api_reaches_a_warehouse_checkpoint_or_source_path():
    users = {
        name
        for name, path in modules().items()
        if any(LOCAL_FILE_API.search(line.split("#")[0]) for line in path.read_text().splitlines())
    }
    assert users == set(LOCAL_FILES)


def test_the_library_asks_nothing_of_a_spark_context_or_the_jvm():
    """klout's steps run over Spark Connect, which has no SparkContext, no RDDs and no py4j gateway (and where delta's
    DeltaTable needs a server plugin): none of them is named in klout/ (tests/test_connect.py runs a day there)."""
    banned = re.compile(r"\bsparkContext\b|\bsc\.|_jvm|_jsc|_jdf|\.rdd\b|\bDeltaTable\b|setCheckpointDir")
    found = [
        f"{p.relative_to(KLOUT.parent)}:{n}: {line.strip()}"
        for p in sorted(KLOUT.rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if banned.search(line)
    ]
    assert found == []
