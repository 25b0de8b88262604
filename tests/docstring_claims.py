"""Runs a docstring example and checks the results its comments state.

An example line `expression  # result` (or an expression followed by a line
`# result`) claims what the expression gives. Where the comment starts with
a Python literal (`# (4, 8, 8, 1)`, `# 'DCGAN'`, `# [2e-4, 1e-4]`,
`# 8, as in pix2pix`), the value must equal it (numbers within float32
error; a string with `...` matches any text there). For `print(...)` the
printed text must be the comment. Other comments (`# passes`, `# the
discriminator's variables`) are prose and are not checked.
"""

import ast
import contextlib
import fnmatch
import io

import numpy as np


class ClaimError(AssertionError):
    """An example's comment states a result the code does not give."""


def _literal_prefix(text):
    """`(found, value)`: the longest leading part of `text` that is a Python
    literal (split at commas, colons and spaces), if any."""
    for end in range(len(text), 0, -1):
        if end < len(text) and text[end] not in ",: ":
            continue
        if text[:end].rstrip().endswith((",", ":")):
            continue  # "8, as in pix2pix" claims 8, not the tuple (8,)
        try:
            return True, ast.literal_eval(text[:end].strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return False, None


def find_claims(code):
    """`{(lineno, col): comment}` for each expression statement of `code`
    followed by a comment, keyed by the expression's start."""
    lines = code.splitlines()
    tree = ast.parse(code)
    claims = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Expr):
            continue
        tail = lines[node.end_lineno - 1][node.end_col_offset:]
        comment = None
        if tail.strip().startswith("#"):
            comment = tail.strip()[1:].strip()
        elif node.end_lineno < len(lines) and lines[node.end_lineno].strip().startswith("#"):
            comment = lines[node.end_lineno].strip()[1:].strip()
            if not _literal_prefix(comment)[0]:
                comment = None  # a prose comment about what follows
        if comment:
            claims[(node.lineno, node.col_offset)] = comment
    return tree, claims


def _is_print(node):
    return (isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "print")


def _matches(value, expected):
    """Whether `value` is what the literal `expected` states."""
    if isinstance(expected, str):
        if not isinstance(value, str):
            return False
        if "..." in expected:
            return fnmatch.fnmatchcase(value, expected.replace("...", "*"))
        return value == expected
    if expected is None or isinstance(expected, bool):
        return value is expected or (isinstance(value, np.bool_) and bool(value) is expected)
    if isinstance(expected, (tuple, list)):
        if isinstance(value, (tuple, list)) and type(value) is not type(expected):
            return False  # (2, 3) is not [2, 3]
        try:
            items = list(value)
        except TypeError:
            return False
        if not isinstance(value, (tuple, list)):
            # An array or a tensor: compare its values.
            try:
                return bool(np.allclose(np.asarray(value, "float64"),
                                        np.asarray(expected, "float64"),
                                        rtol=1e-5, atol=1e-7)
                            and np.shape(value) == np.shape(expected))
            except (TypeError, ValueError):
                return False
        return len(items) == len(expected) and all(
            _matches(v, e) for v, e in zip(items, expected))
    if isinstance(value, (str, bool)):
        return False
    try:
        actual = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        return value == expected
    if actual.size != 1:
        return False
    return bool(np.isclose(actual.reshape(()), float(expected), rtol=1e-5, atol=1e-7))


class _Checker(ast.NodeTransformer):
    """Wraps each claimed expression in `__claim__(index, lambda: expr)`."""

    def __init__(self, claims):
        self.claims = claims
        self.found = []

    def visit_Expr(self, node):
        comment = self.claims.get((node.lineno, node.col_offset))
        if comment is None:
            return node
        printed = _is_print(node)
        if not printed:
            found, expected = _literal_prefix(comment)
            if not found:
                return node
        else:
            expected = comment
        self.found.append((node.lineno, comment, printed, expected))
        call = ast.Call(
            func=ast.Name("__claim__", ast.Load()),
            args=[ast.Constant(len(self.found) - 1),
                  ast.Lambda(ast.arguments([], [], None, [], [], None, []), node.value)],
            keywords=[],
        )
        return ast.copy_location(ast.Expr(call), node)


def run_example(code, namespace, filename="<example>"):
    """Executes `code` in `namespace`, checking every claimed result.

    Returns:
        The number of claims checked.

    Raises:
        ClaimError: a result differs from its comment.
    """
    tree, claims = find_claims(code)
    checker = _Checker(claims)
    tree = ast.fix_missing_locations(checker.visit(tree))

    def claim(index, thunk):
        lineno, comment, printed, expected = checker.found[index]
        if printed:
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                thunk()
            text = " ".join(buffer.getvalue().split())
            if text != " ".join(expected.split()):
                raise ClaimError(
                    f"line {lineno} prints {text!r}; its comment says {comment!r}")
            return
        value = thunk()
        if not _matches(value, expected):
            raise ClaimError(
                f"line {lineno} gives {value!r}; its comment says {comment!r}")

    namespace["__claim__"] = claim
    exec(compile(tree, filename, "exec"), namespace)
    return len(checker.found)
