"""Model configuration from the command line: `--set key=value` (or
`--key value`) against a family's signature.

The defaults of a family live in one place, its constructor's signature
(which also feeds `get_config`). `--set` may only name a parameter of that
signature, and its value is parsed by the type of the default: an `int`
default takes an integer, a tuple default takes `64,128` or `(64, 128)`, a
`None` default takes any Python literal (or a bare word, as a string).
What each parameter means comes from the `Args:` section of the family's
docstring (`argument_docs`), or of the base class that documents it.

Nothing here imports keras.
"""

import ast
import dataclasses
import difflib
import inspect
import re

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_NONE = ("none", "null")


def constructor_defaults(cls):
    """`{name: default}` of the constructor parameters that `--set` may change.

    `self`, `*args` and `**kwargs` are left out. A parameter without a
    default maps to `inspect.Parameter.empty` (it must be `--set`). A
    subclass that changes one default and passes `**kwargs` on (`DCGAN` over
    `GAN`) gets its parent's parameters too, with its own defaults first.
    """
    from kerasgen.training import GenerativeModel

    defaults = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        passes_kwargs = False
        for name, parameter in inspect.signature(klass.__init__).parameters.items():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                passes_kwargs = True
            elif name != "self" and parameter.kind is not inspect.Parameter.VAR_POSITIONAL:
                defaults.setdefault(name, parameter.default)
        # Stop at the first constructor that does not hand `**kwargs` to a
        # family base (keras.Model's own arguments are not for `--set`).
        if (
            not passes_kwargs
            or klass is GenerativeModel
            or not issubclass(klass, GenerativeModel)
        ):
            break
    if getattr(cls, "ema_network", None) is None:
        # The core takes `ema_decay`, but a family with no network to
        # average refuses it: not an option of that family.
        defaults.pop("ema_decay", None)
    return defaults


def parse_assignments(assignments, defaults, family):
    """Parses `--set key=value` strings against a family's defaults.

    Args:
        assignments: iterable of str, each `key=value`. Dashes in the key
            are read as underscores (`latent-dim` is `latent_dim`).
        defaults: dict from `constructor_defaults`.
        family: str. The family's name, for messages.

    Returns:
        A dict of key to parsed value, in the order given (a key given twice
        keeps the last value).

    Raises:
        ValueError: an assignment without `=`, a key the family does not
            have (the message lists the valid keys and close matches), or a
            value that does not parse as the default's type.
    """
    values = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(
                "`--set` takes key=value, e.g. `--set latent_dim=64`. "
                f"Received: --set {assignment!r}"
            )
        if key not in defaults:
            close = difflib.get_close_matches(key, list(defaults), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ValueError(
                f"Family '{family}' has no parameter {key!r}.{hint} "
                f"Valid keys: {', '.join(defaults)}. Received: --set {assignment}"
            )
        values[key] = parse_value(key, raw.strip(), defaults[key])
    return values


def parse_value(key, raw, default, given_as=None):
    """Parses one `--set` value by the type of the parameter's default.

    `given_as` is how the user wrote it, for the message (default:
    `--set key=raw`)."""
    try:
        return _parse_like(raw, default)
    except (ValueError, SyntaxError, TypeError) as error:
        expected = _describe(default)
        reason = f" ({error})" if isinstance(error, TypeError) else ""
        raise ValueError(
            f"Cannot read the value of {key!r} as {expected}{reason} "
            f"(its default is {default!r}). "
            f"Received: {given_as or f'--set {key}={raw}'}"
        ) from None


def _parse_like(raw, default):
    if default is inspect.Parameter.empty or default is None:
        return _parse_literal(raw)
    if isinstance(default, bool):
        return _parse_bool(raw)
    if isinstance(default, int):
        if raw.lower() in _NONE:
            return None
        return int(raw)
    if isinstance(default, float):
        if raw.lower() in _NONE:
            return None
        return float(raw)
    if isinstance(default, str):
        return raw
    if isinstance(default, (tuple, list)):
        return _parse_sequence(raw, default)
    value = ast.literal_eval(raw)
    if not isinstance(value, type(default)):
        raise TypeError(f"got {type(value).__name__}")
    return value


def _parse_bool(raw):
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("not a boolean")


def _parse_literal(raw):
    """Any Python literal; `none`/`null`, `true`/`false`; else the string."""
    lowered = raw.lower()
    if lowered in _NONE:
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def _parse_sequence(raw, default):
    if raw.lower() in _NONE:
        return None
    text = raw.strip()
    if text[:1] in "([":
        items = ast.literal_eval(text)
        if not isinstance(items, (tuple, list)):
            raise ValueError("not a sequence")
        items = list(items)
    else:
        items = [item.strip() for item in text.split(",") if item.strip()]
        if default:
            items = [_parse_like(item, default[0]) for item in items]
        else:
            items = [_parse_literal(item) for item in items]
    if default:
        items = [
            _parse_like(str(item), default[0]) if not isinstance(item, type(default[0])) else item
            for item in items
        ]
    return type(default)(items)


def _describe(default):
    if default is inspect.Parameter.empty or default is None:
        return "a Python literal"
    if isinstance(default, bool):
        return "a boolean (true/false)"
    if isinstance(default, (tuple, list)):
        inner = _describe(default[0]) if default else "values"
        return f"a comma-separated list of {inner.removeprefix('a ').removeprefix('an ')}s"
    article = "an" if type(default).__name__[0] in "aeiou" else "a"
    return f"{article} {type(default).__name__}"


def format_config(title, values, defaults, *, width=24):
    """Lines `key  value  [default: x]` with non-default values marked, as
    junyanz's `print_options` does.

    Args:
        title: str. The heading line.
        values: dict of the resolved values.
        defaults: dict of the defaults (keys missing here are not marked).

    Returns:
        A list of str.
    """
    lines = [title]
    for key, value in values.items():
        default = defaults.get(key, inspect.Parameter.empty)
        changed = default is not inspect.Parameter.empty and not same_value(value, default)
        mark = f"  [default: {_show(default)}]" if changed else ""
        prefix = "* " if changed else "  "
        lines.append(f"  {prefix}{key:<{width}} {_show(value)}{mark}")
    return lines


def changed_keys(values, defaults):
    """The keys whose value differs from its default."""
    return [
        key
        for key, value in values.items()
        if key in defaults and not same_value(value, defaults[key])
    ]


def same_value(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


def _show(value):
    if value is inspect.Parameter.empty:
        return "(required)"
    if isinstance(value, str):
        return value
    return repr(value)


# --- What each argument means ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArgumentDoc:
    """One entry of a Google-style `Args:` section.

    Attributes:
        type: str. The type the entry starts with (`int or None`), or "".
        description: str. The rest, on one line, without its `Defaults to
            ...` sentence (the signature's default is shown instead).
    """

    type: str
    description: str


# An entry's first line: `name: text` or `name (type): text`.
_ENTRY = re.compile(r"^(\*{0,2}\w+)\s*(?:\(([^)]*)\))?:(?:\s+(.*))?$")
# A type: words or `literals` joined by " or " (`int or None`, `"a2b"` or
# `"b2a"`), optionally "tuple of int".
_WORD = r"(?:`[^`]+`|[\w.]+(?: of [\w.`]+)?)"
_TYPE = re.compile(rf"^{_WORD}(?:(?: or |, ){_WORD})*$")
_DEFAULTS = re.compile(r"\s*\(?Defaults to\b.*$", re.S)


def parse_args_section(docstring):
    """`{name: ArgumentDoc}` from the `Args:` section of a Google-style
    docstring (entries `name: type. Description. Defaults to X.`).

    Example:

    ```python
    doc = "Args:\\n    size: int. Height and width. Defaults to 28.\\n"
    entry = parse_args_section(doc)["size"]
    entry.type, entry.description  # ('int', 'Height and width.')
    ```
    """
    # Not cleandoc: it would dedent the entries of a docstring that starts
    # with "Args:" to the level of the heading.
    lines = (docstring or "").expandtabs().splitlines()
    entries, current, base = {}, None, None
    inside = False
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not inside:
            if stripped == "Args:":
                inside, section_indent = True, indent
            continue
        if stripped and indent <= section_indent:
            break  # the next section
        if not stripped:
            continue
        if base is None:
            base = indent
        match = _ENTRY.match(stripped) if indent == base else None
        if match:
            current = match.group(1).lstrip("*")
            typed = match.group(2)
            entries[current] = [typed, match.group(3) or ""]
        elif current is not None:
            entries[current][1] += " " + stripped
    return {name: _split_entry(typed, text) for name, (typed, text) in entries.items()}


def _split_entry(typed, text):
    text = " ".join(text.split())
    if typed is None:
        head, sep, rest = _first_clause(text)
        if sep and _TYPE.match(head):
            typed, text = head, rest
        elif _TYPE.match(text.rstrip(".")) and text.endswith("."):
            typed, text = text.rstrip("."), ""
    description = _DEFAULTS.sub("", text).strip()
    if description[:1].islower():
        description = description[0].upper() + description[1:]
    return ArgumentDoc(type=(typed or "").strip(), description=description)


def _first_clause(text):
    """`(head, separator, rest)` split at the first ". " or ": " outside
    backticks."""
    ticks = 0
    for i, char in enumerate(text):
        if char == "`":
            ticks ^= 1
        elif not ticks and char in ".:" and text[i + 1:i + 2] in (" ", ""):
            return text[:i], char, text[i + 1:].strip()
    return text, "", ""


def argument_docs(cls):
    """`{argument: ArgumentDoc}` for a family: each argument from the first
    class in `cls.__mro__` (kerasgen's own) whose docstring documents it, so
    a subclass that passes `**kwargs` on finds its parent's entries; an
    entry with a type but no description (`seed: int or None.`) takes the
    description of the next class that has one.

    Example:

    ```python
    import kerasgen
    argument_docs(kerasgen.DCGAN)["latent_dim"].type  # 'int'
    ```
    """
    docs = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("kerasgen"):
            continue
        for name, doc in parse_args_section(vars(klass).get("__doc__")).items():
            found = docs.get(name)
            if found is None:
                docs[name] = doc
            elif not found.description and doc.description:
                docs[name] = ArgumentDoc(found.type or doc.type, doc.description)
    return docs


def metavar(default, doc_type=""):
    """What an option takes, for `--help`: from the documented type (`int
    or None` -> `INT|NONE`), else from the default's type.

    Example:

    ```python
    metavar(None, "int or None"), metavar((8, 16)), metavar("mlp")
    # ('INT|NONE', 'INT,...', 'TEXT')
    ```
    """
    names = {"int": "INT", "float": "FLOAT", "bool": "BOOL", "str": "TEXT",
             "none": "NONE", "tuple": "LIST", "list": "LIST"}
    words = [w.strip() for w in re.split(r" or |, ", doc_type) if w.strip()]
    if words and all(w.lower() in names for w in words):
        return "|".join(names[w.lower()] for w in words)
    if words and all(w.startswith("`") for w in words):
        return "|".join(w.strip("`\"'") for w in words)
    if isinstance(default, bool):
        return "BOOL"
    if isinstance(default, (tuple, list)):
        inner = metavar(default[0]) if default else "VALUE"
        return f"{inner},..."
    for kind, name in ((int, "INT"), (float, "FLOAT"), (str, "TEXT")):
        if isinstance(default, kind):
            return name
    return "VALUE"


def show(value):
    """A value as the printed configuration and `--help` write it."""
    return _show(value)
