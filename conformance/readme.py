"""The README's generated parts: the property table and the runtime table.

Both come from their source of truth, so they cannot drift: the properties from the suite
modules' docstrings (``conformance/suite/test_*.py``: the module docstring's first line, and
each property's first paragraph; read with :mod:`ast`, nothing is imported), the runtimes
from the registry (:data:`conformance.runtimes.BUILTIN`). Each part stands in README.md
between ``<!-- generated: NAME -->`` and ``<!-- end -->``::

    python -m conformance.readme --write   # rewrite them in README.md
    python -m conformance.readme --check   # exit 1 if README.md differs (tests/test_readme.py)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SUITE = Path(__file__).resolve().parent / "suite"
WRITE_COMMAND = ".venv/bin/python -m conformance.readme --write"


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(doc.strip().split("\n\n", 1)[0].split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _marks(node: ast.FunctionDef | ast.AsyncFunctionDef, module_marks: list[str]) -> list[str]:
    """What a property's markers say about where it runs: thorough profile only, a feature."""
    out: list[str] = []
    for deco in [*node.decorator_list]:
        text = ast.unparse(deco)
        if text.endswith("wasm_thorough"):
            out.append("thorough profile only")
        found = re.search(r"wasm_feature\(['\"](\w+)['\"]\)", text)
        if found:
            out.append(f"needs {found.group(1).replace('_', ' ')}")
    return [m for m in module_marks if m not in out] + out


def suite_modules() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(module file, its summary, [(property, its first paragraph and where it runs)]), by file name."""
    out = []
    for path in sorted(SUITE.glob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        module_marks = []
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
                found = re.search(r"wasm_feature\(['\"](\w+)['\"]\)", ast.unparse(stmt.value))
                if found:
                    module_marks.append(f"needs {found.group(1).replace('_', ' ')}")
        props = []
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                text = _first_paragraph(ast.get_docstring(node))
                marks = _marks(node, module_marks)
                if marks:
                    text = f"{text} *({'; '.join(marks)})*"
                props.append((node.name, text))
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "TestCase":  # a state machine's test
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.startswith("Test"):
                        props.append((target.id, _machine_doc(tree, node.value)))
        summary = (ast.get_docstring(tree) or "").strip().splitlines()
        out.append((path.name, summary[0] if summary else "", props))
    return out


def _machine_doc(tree: ast.Module, value: ast.Attribute) -> str:
    name = ast.unparse(value.value)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return _first_paragraph(ast.get_docstring(node))
    return ""


def properties_part() -> str:
    modules = suite_modules()
    count = sum(len(props) for _, _, props in modules)
    lines = [f"{len(modules)} modules, {count} properties (`conformance/suite/`; from their docstrings).", "",
             "| module | what it checks | properties |", "|---|---|---|"]
    for name, summary, props in modules:
        lines.append(f"| `{name}` | {_cell(summary)} | {len(props)} |")
    lines += ["", "<details><summary>Every property in one line</summary>", ""]
    for name, _, props in modules:
        lines.append(f"**`{name}`**")
        lines.append("")
        for prop, text in props:
            lines.append(f"- `{prop}`: {text}" if text else f"- `{prop}`")
        lines.append("")
    lines.append("</details>")
    return "\n".join(lines)


def runtimes_part() -> str:
    from conformance.runtimes import BUILTIN

    divergences = Path(__file__).resolve().parent / "divergences"
    lines = ["| id | runtime | needs | known divergences |", "|---|---|---|---|"]
    for spec in BUILTIN.values():
        files = [f"`{n}.toml`" for n in dict.fromkeys([spec.family, spec.id])
                 if (divergences / f"{n}.toml").exists()]
        lines.append(f"| `{spec.id}` | {_cell(spec.description)} | {_cell(spec.needs)} | "
                     f"{', '.join(files) or 'none'} |")
    lines += ["", "A runtime whose needs are not met here is skipped with its reason "
              "(`wasm-conformance runtimes` lists them)."]
    return "\n".join(lines)


PARTS: dict[str, Callable[[], str]] = {"properties": properties_part, "runtimes": runtimes_part}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(<!-- end -->)", re.S)


def generate(text: str) -> str:
    """README text with every generated part replaced by what the sources give now."""
    for name, make in PARTS.items():
        pattern = _pattern(name)
        if not pattern.search(text):
            raise ValueError(f"README.md has no '<!-- generated: {name} -->' ... '<!-- end -->' block")
        found = pattern.search(text)
        assert found is not None
        text = text[:found.start(2)] + make() + "\n" + text[found.end(2):]
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.readme", description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--write", action="store_true", help="rewrite the generated parts of README.md")
    what.add_argument("--check", action="store_true", help="exit 1 if README.md is not as generated")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    if not args.readme.exists():
        print(f"error: no {args.readme} (the README is in a checkout, not in the installed package)")
        return 2
    current = args.readme.read_text()
    wanted = generate(current)
    if args.check:
        if current != wanted:
            print(f"{args.readme}: generated parts are out of date; run: {WRITE_COMMAND}")
            return 1
        return 0
    if current != wanted:
        args.readme.write_text(wanted)
        print(f"{args.readme}: generated parts updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
