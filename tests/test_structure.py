"""The architecture's rules, checked over the source: imports go app -> collectors -> models."""

import ast
import re
from pathlib import Path

import pytest

from app.cli import _parser

ROOT = Path(__file__).resolve().parents[1]

# package -> packages it must not import
FORBIDDEN = {
    "models": {"app", "collectors", "sample_logs", "streamlit", "plotly"},
    "collectors": {"app", "sample_logs", "streamlit", "plotly"},
    "sample_logs": {"app", "streamlit", "plotly"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_only_one_module_imports_pm4py():
    importers = sorted(str(p.relative_to(ROOT)) for pkg in ("app", "collectors", "models", "sample_logs")
                       for p in (ROOT / pkg).rglob("*.py") if "pm4py" in _imports(p))
    assert len(importers) <= 1, importers


def test_every_cli_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = _parser()._subparsers._group_actions[0].choices
    undocumented = [name for name in commands if not re.search(rf"p2pobs {name}\b", readme)]
    assert undocumented == []


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = "./dev.sh test"
    assert test_command in readme
    assert ci.strip().splitlines()[-1] == test_command
