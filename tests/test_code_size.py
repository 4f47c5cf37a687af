"""The training kernel's packages keep their functions short."""

import ast
import pathlib

import pytest

import jaxunlearn

ROOT = pathlib.Path(jaxunlearn.__file__).parent
MAX_LINES = 80


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def function_lengths(source: str) -> list[tuple[str, int, int]]:
    """``(name, line, body lines)`` of every function, docstrings excluded.

    The body runs from its first statement after the docstring to the
    function's last line (nested functions count in their parent too).
    """
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body[1:] if _is_docstring(node.body[0]) else node.body
        if body:
            out.append(
                (node.name, node.lineno, node.end_lineno - body[0].lineno + 1)
            )
    return out


def test_function_lengths_counts_body_without_docstring():
    src = (
        'def f(a,\n      b):\n    """Doc.\n\n    More.\n    """\n'
        "    x = 1\n\n    return x\n"
    )
    assert function_lengths(src) == [("f", 1, 3)]


@pytest.mark.parametrize("package", ["datapoint", "baselines"])
def test_no_function_longer_than_80_lines(package):
    long = [
        f"{path.name}:{line} {name} ({n} lines)"
        for path in sorted((ROOT / package).glob("*.py"))
        for name, line, n in function_lengths(path.read_text())
        if n > MAX_LINES
    ]
    assert not long, f"functions over {MAX_LINES} lines: {long}"
