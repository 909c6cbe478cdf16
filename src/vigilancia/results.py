"""How results become JSON: one path for the CLI's ``--json``, the web API and JSON files.

Every result object a service returns has ``to_dict()`` (:class:`Result`): its content
as plain data (dicts, lists, text, numbers, None). Values in it may still be dates,
datetimes, paths, enums, numpy scalars or arrays, Decimals or NaN; :func:`jsonable`
turns such a tree (or a result, or a list of results) into JSON values, the same way
everywhere:

- an object with ``to_dict()`` -> its dict, converted;
- ``date``/``datetime``/``time`` -> ISO 8601 text (``2024-07-01``, ``...T10:30:00+00:00``);
- ``Path`` -> text; an ``Enum`` -> its value; ``bytes`` -> hex text;
- numpy scalars and arrays, ``Decimal`` -> numbers and lists;
- NaN and infinities -> ``null`` (JSON has no NaN);
- tuples and sets -> lists; mapping keys -> text (an enum key by its value);
- anything else -> its ``str()``.

:func:`to_json` writes the converted tree as UTF-8 text (non-ASCII letters kept).

>>> from datetime import date
>>> from pathlib import Path
>>> import numpy as np
>>> jsonable({"as_of": date(2024, 7, 1), "file": Path("riesgo/riesgo.csv"),
...           "score": np.float64(71.5), "trend": float("nan"), "ids": (1, 2)})
{'as_of': '2024-07-01', 'file': 'riesgo/riesgo.csv', 'score': 71.5, 'trend': None, 'ids': [1, 2]}
>>> print(to_json({"name": "Comunidad Ñape", "n": np.int64(3)}, indent=None))
{"name": "Comunidad Ñape", "n": 3}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Plain", "Result", "jsonable", "to_json"]


class Plain(dict[str, Any]):
    """A dict that already holds only JSON values (e.g. a GeoJSON geometry parsed from
    GEOS's text): :func:`jsonable` passes it through without walking its coordinates."""


@runtime_checkable
class Result(Protocol):
    """A service's result: ``to_dict()`` gives its content as plain data (see the module)."""

    def to_dict(self) -> dict[str, Any]: ...


def jsonable(value: Any) -> Any:
    """``value`` (a result, a list of results, a dict...) as JSON values (see the module)."""
    kind = type(value)  # the plain types first, by identity: pages of GeoJSON are mostly floats
    if kind is Plain:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or kind is int or kind is bool:
        return value
    if kind is list:
        return [jsonable(v) for v in value]
    if kind is dict:
        return {k if type(k) is str else _key(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Result):
        return jsonable(value.to_dict())
    if isinstance(value, set | frozenset):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return str(value)


def _key(key: Any) -> str:
    converted = jsonable(key)
    return converted if isinstance(converted, str) else json.dumps(converted)


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """``value`` as JSON text (UTF-8 letters kept, ``indent`` spaces; None: one line)."""
    return json.dumps(jsonable(value), ensure_ascii=False, indent=indent, allow_nan=False)
