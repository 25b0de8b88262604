"""The families: one module per family (or per paper pair), a sub-package
where a family has several files (`image_translation/`).

Each family class carries `@register_family("name")`; `registry` reads those
decorators, so adding a module here is all it takes to add a family to
`kerasgen.<Class>`, `kerasgen families` and every command. Importing this
package imports no family (and no Keras): `get_family(name)` imports one,
`load_all()` all of them.
"""

from kerasgen.models.registry import FamilyEntry
from kerasgen.models.registry import family_names
from kerasgen.models.registry import find_entry
from kerasgen.models.registry import get_family
from kerasgen.models.registry import index
from kerasgen.models.registry import load_all
from kerasgen.models.registry import register_family

__all__ = [
    "FamilyEntry",
    "family_names",
    "find_entry",
    "get_family",
    "index",
    "load_all",
    "register_family",
]
