"""The development page's "Where things are" (docs/development.md) names every module of the package, and only
modules that exist."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "keras_resnet"


def _tree_block():
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    section = text.split("## Where things are", 1)[1]
    return section.split("```", 2)[1]


def _listed():
    """{(subpackage or "", module file)} from the tree: a `name/` line opens a subpackage (by indent)."""
    listed, current = set(), None
    for line in _tree_block().splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        head = line.strip().split(" ", 1)[0]
        if indent == 0:
            current = None            # outside the package (apps/, tests/, ...)
        elif indent == 2:
            current = head.rstrip("/") if head.endswith("/") else ""
            if head.endswith(".py"):
                listed.add(("", head))
        elif current is not None:     # a module line: names that start a column (two spaces before)
            listed.update((current, name) for name in re.findall(r"(?:^|\s{2})(\w+\.py)\b", line))
    return listed


def _modules():
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if path.name in ("__init__.py", "__main__.py") and len(rel.parts) > 1:
            continue
        found.add(("" if len(rel.parts) == 1 else rel.parts[0], path.name))
    return found


def test_readme_tree_lists_every_module():
    missing = sorted(f"{pkg + '/' if pkg else ''}{name}" for pkg, name in _modules() - _listed())
    assert not missing, f"docs/development.md 'Where things are' does not list: {missing}"


def test_readme_tree_lists_only_existing_modules():
    extra = sorted(f"{pkg + '/' if pkg else ''}{name}" for pkg, name in _listed() - _modules())
    assert not extra, f"docs/development.md 'Where things are' lists modules that do not exist: {extra}"


def test_readme_tree_lists_every_subpackage():
    block = _tree_block()
    subpackages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert subpackages, "no subpackages found"
    missing = [name for name in subpackages if f"  {name}/" not in block]
    assert not missing, f"docs/development.md 'Where things are' does not list subpackages: {missing}"
