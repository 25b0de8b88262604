"""Checks of constructor arguments that every family shares, so that a bad
value is refused with the same one-line message wherever it is given:
"`<Owner>: `name` must be <expected>. Received: name=<value>`".

Example:

```python
from kerasgen.utils.arguments import check_count, is_count
is_count(3, minimum=1)        # True
is_count(True, minimum=0)     # False: a bool is not a count
check_count("DDPM", "timesteps", 1000, minimum=2)  # passes silently
```
"""

import numbers


def refuse(owner, name, value, expected):
    """Raise the shared `ValueError` for argument `name` of `owner` (a class
    name, or an object whose class name is used).

    Example:

    ```python
    try:
        refuse("DDPM", "schedule", "quadratic", "one of ('linear', 'cosine')")
    except ValueError as error:
        message = str(error)  # "DDPM: `schedule` must be one of ..."
    ```
    """
    if not isinstance(owner, str):
        owner = type(owner).__name__
    raise ValueError(f"{owner}: `{name}` must be {expected}. Received: {name}={value!r}")


def is_count(value, minimum=1):
    """Whether `value` is an integer (a numpy integer from a config counts,
    a bool does not) and at least `minimum`.

    Example:

    ```python
    import numpy as np
    is_count(np.int64(4))   # True
    is_count(2.0)           # False
    ```
    """
    return (not isinstance(value, bool) and isinstance(value, numbers.Integral)
            and value >= minimum)


def check_count(owner, name, value, minimum=1):
    """Refuse `value` unless `is_count(value, minimum)`.

    Example:

    ```python
    check_count("Glow", "flow_depth", 8)   # fine
    try:
        check_count("Glow", "flow_depth", 0)
    except ValueError as error:
        message = str(error)  # "Glow: `flow_depth` must be an int >= 1. ..."
    ```
    """
    if not is_count(value, minimum):
        refuse(owner, name, value, f"an int >= {minimum}")
