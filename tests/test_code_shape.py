"""Short functions in keras_resnet/ (issue 25): none longer than 60 lines.

A function's length is what `ast` gives it: from its `def` line to its last line (`end_lineno - lineno + 1`),
docstring and comments included, decorators not; a nested function counts inside its parent and on its own.
The limit is the one the issue set; a longer function is a place where a reader would want it split.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIMIT = 60


def function_lengths(root=ROOT / "keras_resnet"):
    """[(lines, "path:line name")] for every function and method under root (paths relative to root), longest first."""
    rows = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                rows.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(root)}:{node.lineno} {node.name}"))
    return sorted(rows, reverse=True)


def test_no_function_in_the_package_is_longer_than_the_limit():
    rows = function_lengths()
    assert len(rows) > 300, len(rows)     # the walk found the package
    too_long = [f"{where} ({n} lines)" for n, where in rows if n > LIMIT]
    assert not too_long, "split these functions: " + "; ".join(too_long)


def test_the_measure_counts_every_line_of_a_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "m.py").write_text(f'def f():\n    """doc"""\n{body}\n\n\n@staticmethod\ndef g():\n    return 1\n')
    assert function_lengths(tmp_path) == [(LIMIT + 2, "m.py:1 f"), (2, "m.py:66 g")]
