"""A safe encoding of the pages' computed data, for results one process computes and another reads (issue 18: the
worker warms results that app processes load, analytics/warming.py).

Not pickle: a file or state-store row that someone could edit must never run code when read (the same reason the
risk model is saved with skops). What the pages compute is plain data (analytics/pages/__init__.py): str, int,
float, bool, None, dates, lists, tuples, sets, dicts, polars frames and the frozen dataclasses of this package. The
encoding is JSON with a tag for each type JSON lacks; frames travel as Arrow IPC (their dtypes exactly as they
were). Decoding builds only those types, and only dataclasses defined in `analytics`; anything else is refused.
"""
from __future__ import annotations

import base64
import dataclasses
import importlib
import io
import json
import math
from datetime import date, datetime

import polars as pl


class Unsupported(TypeError):
    """A value of a type this encoding does not carry (the caller computes it instead of storing it)."""


def _enc(o):
    if o is None or isinstance(o, (bool, str, int)):
        return o
    if isinstance(o, float):
        return o if math.isfinite(o) else {"$f": repr(o)}
    if isinstance(o, datetime):
        return {"$dt": o.isoformat()}
    if isinstance(o, date):
        return {"$d": o.isoformat()}
    if isinstance(o, list):
        return [_enc(v) for v in o]
    if isinstance(o, tuple):
        return {"$t": [_enc(v) for v in o]}
    if isinstance(o, frozenset):
        return {"$fs": [_enc(v) for v in o]}
    if isinstance(o, set):
        return {"$s": [_enc(v) for v in o]}
    if isinstance(o, dict):
        if all(type(k) is str and not k.startswith("$") for k in o):
            return {k: _enc(v) for k, v in o.items()}
        return {"$m": [[_enc(k), _enc(v)] for k, v in o.items()]}
    if isinstance(o, pl.DataFrame):
        buf = io.BytesIO()
        o.write_ipc(buf, compression="zstd")
        return {"$df": base64.b64encode(buf.getvalue()).decode("ascii")}
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        cls = type(o)
        if not cls.__module__.startswith("analytics."):
            raise Unsupported(f"{cls.__module__}.{cls.__qualname__}")
        return {"$dc": f"{cls.__module__}:{cls.__qualname__}",
                "v": {f.name: _enc(getattr(o, f.name)) for f in dataclasses.fields(o)}}
    raise Unsupported(f"{type(o).__module__}.{type(o).__qualname__}")


def _dataclass(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.startswith("analytics.") or not qualname:
        raise ValueError(f"not a class of this package: {name!r}")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
        raise ValueError(f"not a dataclass: {name!r}")
    return obj


def _dec(o):
    if isinstance(o, list):
        return [_dec(v) for v in o]
    if not isinstance(o, dict):
        return o
    if len(o) == 1:
        (tag, v), = o.items()
        if tag == "$t":
            return tuple(_dec(x) for x in v)
        if tag == "$fs":
            return frozenset(_dec(x) for x in v)
        if tag == "$s":
            return {_dec(x) for x in v}
        if tag == "$m":
            return {_dec(k): _dec(x) for k, x in v}
        if tag == "$d":
            return date.fromisoformat(v)
        if tag == "$dt":
            return datetime.fromisoformat(v)
        if tag == "$f":
            return float(v)
        if tag == "$df":
            return pl.read_ipc(io.BytesIO(base64.b64decode(v)))
    if set(o) == {"$dc", "v"}:
        cls = _dataclass(o["$dc"])
        obj = cls.__new__(cls)  # fields with init=False too; frozen ones through object.__setattr__
        for f in dataclasses.fields(cls):
            object.__setattr__(obj, f.name, _dec(o["v"][f.name]))
        return obj
    return {k: _dec(v) for k, v in o.items()}


def dumps(value) -> bytes:
    """`value` as bytes (Unsupported when it holds a type this encoding does not carry)."""
    return json.dumps(_enc(value), ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: bytes):
    return _dec(json.loads(data))


def key_text(value) -> str:
    """A stable text of a cache key (tuples of plain values), the same in every process."""
    return json.dumps(_enc(value), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def key_value(text: str):
    return _dec(json.loads(text))
