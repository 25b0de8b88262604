"""Every fenced `python` example in kerasgen's docstrings runs, offline.

An example is executed in its module's namespace, so it can use the names
the module defines, as a reader of that module would.
"""

import importlib
import inspect
import pkgutil
import re

import pytest


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
    exec(compile(code, f"<example in {module.__name__}>", "exec"), namespace)
