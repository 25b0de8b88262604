"""Every fenced `python` example in kerasgen's docstrings runs, offline, and
gives the results its comments state (`tests/docstring_claims.py`).

An example is executed in its module's namespace, so it can use the names
the module defines, as a reader of that module would.
"""

import importlib
import inspect
import pkgutil
import re

import pytest

from docstring_claims import ClaimError
from docstring_claims import run_example


FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _modules():
    # kerasgen and the folders mapped into it (cli/, zoo/, export/).
    names = []
    for package in ("kerasgen", "kerasgen.cli", "kerasgen.zoo", "kerasgen.export"):
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=package + "."):
            if info.name not in names:
                names.append(info.name)
    return names


def _examples():
    for module_name in _modules():
        module = importlib.import_module(module_name)
        objects = [("", module)]
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module_name:
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                objects.append((name, obj))
                if inspect.isclass(obj):
                    for attr, member in vars(obj).items():
                        # A method borrowed from another module's class is
                        # tested there, in its own namespace.
                        if inspect.isfunction(member) and member.__module__ == module_name:
                            objects.append((f"{name}.{attr}", member))
        for name, obj in objects:
            doc = inspect.getdoc(obj) or ""
            for i, code in enumerate(FENCE.findall(doc)):
                yield pytest.param(module, code, id=f"{module_name}:{name}:{i}")


EXAMPLES = list(_examples())


def test_examples_were_found():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("module, code", EXAMPLES)
def test_docstring_example_runs(module, code):
    namespace = dict(vars(module))
    run_example(code, namespace, f"<example in {module.__name__}>")


def test_stated_results_are_found():
    from docstring_claims import find_claims

    # Most examples end in a line that states its result.
    claims = sum(len(find_claims(param.values[1])[1]) for param in EXAMPLES)
    assert claims >= 30, claims


@pytest.mark.parametrize("code, message", [
    ("(1, 2)  # (1, 3)", "gives"),
    ("x = 2\nx * 2\n# 5", "gives"),
    ("print('a', 1)  # a 2", "prints"),
    ("'abc/1'  # '.../2'", "gives"),
    ("0.1 + 0.2  # 0.4, as computed", "gives"),
])
def test_a_wrong_claim_fails(code, message):
    with pytest.raises(ClaimError, match=message):
        run_example(code, {})


@pytest.mark.parametrize("code", [
    "(1, 2)  # (1, 2)",
    "x = 2\nx * 2\n# 4",
    "print('a', 1)  # a 1",
    "'/tmp/x/abc/1'  # '.../abc/1'",
    "0.1 + 0.2  # 0.3, within float error",
    "len([])  # passes (prose is not checked)",
])
def test_a_true_claim_passes(code):
    run_example(code, {})
