"""The family registry: `@register_family` where a family is defined, and
the index that finds every family without importing one.

A family registers itself with one decorator on its class:

    @register_family("dcgan")
    class DCGAN(GAN):
        \"\"\"Deep convolutional GAN (Radford et al. 2015). ...\"\"\"

The decorator registers the class with Keras's serialization (as
`kerasgen>DCGAN`, so a `.keras` file names the class, never the module it
lives in), puts it in the registry under its family name, and that is what
makes it a public name (`kerasgen.DCGAN`) and a line of `kerasgen families`.
No other list of families exists.

Two ways to read the registry:

- `index()` reads the decorators from the source files under
  `kerasgen/models/` (with `ast`, importing nothing), so `kerasgen --help`,
  `kerasgen families` and `import kerasgen` cost no TensorFlow or JAX
  start-up. It gives each family's name, class, module and one-line summary.
- `get_family(name)` and `load_all()` import the family modules (and with
  them Keras) and return the classes the decorator registered.

A test checks that the two agree.
"""

import ast
import dataclasses
import difflib
import functools
import importlib
import os

_PACKAGE = "kerasgen.models"
#: A config value this large in a dimension-like field (image_size,
#: latent_dim, *_filters, num_classes, ...) is a crafted or corrupt file:
#: the zoo's largest models use a few thousand at most, and building one
#: with a million would try to allocate terabytes before failing.
MAX_CONFIG_DIMENSION = 1 << 16
_DIMENSION_KEY = ("size", "dim", "filters", "channels", "classes", "layers",
                  "blocks", "units", "depth")
_ROOT = os.path.dirname(os.path.abspath(__file__))
#: Family name -> class, filled by `@register_family` as modules are imported.
_REGISTERED = {}


@dataclasses.dataclass(frozen=True)
class FamilyEntry:
    """What the source says about one family, before anything is imported.

    Attributes:
        name: str. The family name (`kerasgen train NAME`), e.g. `"dcgan"`.
        class_name: str. The public class name, e.g. `"DCGAN"`.
        module: str. The module that defines it.
        summary: str. The class's `description` (a string literal), else
            the first line of its docstring.
    """

    name: str
    class_name: str
    module: str
    summary: str


def register_family(name):
    """Class decorator: registers a family under `name`.

    The class becomes serializable by Keras as `kerasgen>ClassName`, gets
    `family_name = name`, and is listed by `kerasgen families` and exported
    as `kerasgen.ClassName`. `name` must be a string literal: the index reads
    it from the source.

    Args:
        name: str. Lower case, letters, digits and `-`; e.g. `"wgan-gp"`.

    Example:

    ```python
    get_family("dcgan").family_name  # 'dcgan'
    ```
    """
    import keras

    def decorator(cls):
        existing = _REGISTERED.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"Two families are registered as {name!r}: "
                f"{existing.__module__}.{existing.__name__} and "
                f"{cls.__module__}.{cls.__name__}. Received: name={name!r}"
            )
        cls = keras.saving.register_keras_serializable(package="kerasgen")(cls)
        cls.family_name = name
        _REGISTERED[name] = cls
        return cls

    return decorator


def _module_files():
    for root, dirs, files in os.walk(_ROOT):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        for file in sorted(files):
            if file.endswith(".py"):
                yield os.path.join(root, file)


def _module_name(path):
    relative = os.path.relpath(path, _ROOT)[: -len(".py")].split(os.sep)
    if relative[-1] == "__init__":
        relative = relative[:-1]
    return ".".join([_PACKAGE] + relative)


def _decorator_name(node):
    """The family name of a `@register_family("name")` decorator, else None."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = node.args[0]
    if called == "register_family" and isinstance(first, ast.Constant):
        return first.value
    return None


def _summary(node):
    """A class's `description = "..."`, else its docstring's first line."""
    for statement in node.body:
        if (
            isinstance(statement, ast.Assign)
            and any(getattr(t, "id", None) == "description" for t in statement.targets)
            and isinstance(statement.value, ast.Constant)
        ):
            return statement.value.value
    doc = (ast.get_docstring(node) or "").strip()
    return doc.splitlines()[0] if doc else ""


@functools.lru_cache(maxsize=None)
def index():
    """Every family under `kerasgen/models/`, read from the source.

    Returns:
        A tuple of `FamilyEntry`, sorted by family name.

    Example:

    ```python
    [entry.name for entry in index()][:3]  # ['acgan', 'cgan', 'cyclegan']
    ```
    """
    entries = []
    for path in _module_files():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            for decorator in node.decorator_list:
                name = _decorator_name(decorator)
                if name is None:
                    continue
                entries.append(FamilyEntry(
                    name=name, class_name=node.name, module=_module_name(path),
                    summary=_summary(node),
                ))
    return tuple(sorted(entries, key=lambda entry: entry.name))


def family_names():
    """The names of every family, sorted (no import).

    Example:

    ```python
    "cyclegan" in family_names()  # True
    ```
    """
    return [entry.name for entry in index()]


def find_entry(name):
    """The `FamilyEntry` of family `name` (case-insensitive), or a
    `ValueError` naming close matches and the known families."""
    key = str(name).lower()
    for entry in index():
        if entry.name == key:
            return entry
    names = family_names()
    close = difflib.get_close_matches(key, names, n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(
        f"Unknown family {name!r}.{hint} Known families: {', '.join(names)} "
        f"(run `kerasgen families`). Received: family={name!r}"
    )


def get_family(name):
    """The model class registered under `name`, importing only its module.

    Args:
        name: str. A family name, e.g. `"dcgan"` (case-insensitive).

    Returns:
        A `GenerativeModel` subclass.

    Example:

    ```python
    get_family("dcgan").__name__  # 'DCGAN'
    ```
    """
    entry = find_entry(name)
    importlib.import_module(entry.module)
    return _REGISTERED[entry.name]


def check_dimensions(arguments, where):
    """Refuses (`ValueError`) a constructor argument of a dimension-like name
    (`image_size`, `latent_dim`, `*_filters`, ...) above
    `MAX_CONFIG_DIMENSION`, read from a file (a checkpoint's or a preset's
    config) before any model is built from it.

    Example:

    ```python
    check_dimensions({"latent_dim": 100, "image_size": 28}, "a config")  # passes
    ```
    """
    for key, value in (arguments.items() if isinstance(arguments, dict) else ()):
        if (
            isinstance(value, int) and not isinstance(value, bool)
            and key.lower().endswith(_DIMENSION_KEY)
            and abs(value) > MAX_CONFIG_DIMENSION
        ):
            raise ValueError(
                f"{where} asks for {key}={value:,}, more than "
                f"{MAX_CONFIG_DIMENSION:,}: a corrupt or crafted config, not a "
                f"model kerasgen can build.")


def load_all():
    """Imports every family module, so that Keras can deserialize any of
    them; returns `{family name: class}`.

    Example:

    ```python
    load_all()["cyclegan"].__name__  # 'CycleGAN'
    ```
    """
    for module in sorted({entry.module for entry in index()}):
        importlib.import_module(module)
    return {entry.name: _REGISTERED[entry.name] for entry in index()}
