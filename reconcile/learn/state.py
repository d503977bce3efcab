"""A fitted model's state as JSON-safe plain values: numpy arrays become dtype/shape/base64.

No pickles: :func:`pack` accepts only numpy arrays (of numeric dtypes), numbers,
strings, booleans, ``None`` and lists/dicts of those, and :func:`unpack` rebuilds
exactly that. Arrays are stored little-endian, so a state moves between machines.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

_ARRAY = "__ndarray__"
_DTYPES = frozenset({"float32", "float64", "int32", "int64", "uint8", "bool"})


class BadState(ValueError):
    """A stored state that is not what :func:`pack` writes."""


def pack(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.name not in _DTYPES:
            raise TypeError(f"cannot store arrays of dtype {value.dtype}")
        raw = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
        return {_ARRAY: value.dtype.name, "shape": list(value.shape), "data": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): pack(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [pack(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a model state")


def unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if _ARRAY in value:
            dtype = value[_ARRAY]
            if dtype not in _DTYPES:
                raise BadState(f"unknown array dtype {dtype!r}")
            try:
                raw = base64.b64decode(value["data"], validate=True)
                arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
                return arr.reshape([int(n) for n in value["shape"]]).astype(dtype)
            except (KeyError, ValueError, TypeError) as exc:
                raise BadState(f"damaged array in model state: {exc}") from None
        return {k: unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unpack(v) for v in value]
    return value
