"""Read a dataclass from its table item, declared once on the dataclass's fields.

Each field is read from the item attribute of the same name and coerced to the field's type
hint (int, float, str, bool, `X | None`, `list[X]`, `tuple[X, ...]`, `tuple[X, Y]`); a
missing attribute takes the field's default, and a field without a default is required
(KeyError when the item lacks it). A field whose attribute differs, or that is parsed from
the key, says so once in its metadata: `field(metadata=attr(name="SK", read=parse_sk))`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from typing import Any, TypeVar

from truss.data.table import Item

T = TypeVar("T")
Reader = Callable[[Any], Any]
_ATTR = "truss.item"


@dataclass(frozen=True)
class _Attr:
    name: str | None = None  # the item attribute, when it isn't the field's name
    read: Reader | None = None  # how to turn the stored value into the field's value
    fallback: str | None = None  # the attribute used when this one is missing or empty


@dataclass(frozen=True)
class _Plan:
    field: str
    attribute: str
    read: Reader
    fallback: str | None
    default: Callable[[], Any] | None  # None: required


def attr(
    name: str | None = None, read: Reader | None = None, fallback: str | None = None
) -> dict[str, Any]:
    """Field metadata for an attribute that is named, parsed or defaulted differently."""
    return {_ATTR: _Attr(name, read, fallback)}


def from_item(cls: type[T], item: Item, defaults: Mapping[str, Any] | None = None) -> T:
    """An instance of the dataclass `cls` from its item; `defaults` adds missing-values for
    fields of a class declared outside data/ (whose fields can't carry metadata)."""
    values: dict[str, Any] = {}
    for plan in _plans(cls):
        raw = item.get(plan.attribute)
        if raw is None or (plan.fallback and not raw):
            raw = item[plan.fallback] if plan.fallback else None
        if raw is not None:
            values[plan.field] = plan.read(raw)
        elif defaults and plan.field in defaults:
            values[plan.field] = defaults[plan.field]
        elif plan.default is not None:
            values[plan.field] = plan.default()
        else:
            raise KeyError(plan.attribute)
    return cls(**values)


_PLANS: dict[type, tuple[_Plan, ...]] = {}


def _plans(cls: type) -> tuple[_Plan, ...]:
    """How to read each field of `cls` (worked out once per class)."""
    if cls not in _PLANS:
        hints = typing.get_type_hints(cls)
        _PLANS[cls] = tuple(_plan(f, hints[f.name]) for f in dataclasses.fields(cls) if f.init)
    return _PLANS[cls]


def _plan(f: dataclasses.Field[Any], hint: Any) -> _Plan:
    meta: _Attr = f.metadata.get(_ATTR, _Attr())
    default: Callable[[], Any] | None = None
    if f.default is not MISSING:
        default = _constant(f.default)
    elif f.default_factory is not MISSING:
        default = f.default_factory
    return _Plan(f.name, meta.name or f.name, meta.read or coercer(hint), meta.fallback, default)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def coercer(hint: Any) -> Reader:
    """What turns a stored value into a value of type `hint` (Decimals → int/float)."""
    if _is_union(hint):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return coercer(inner)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        one = coercer(args[0])
        return lambda value: [one(v) for v in value]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        each = coercer(args[0])
        return lambda value: tuple(each(v) for v in value)
    if origin is tuple:
        parts = [coercer(arg) for arg in args]
        return lambda value: tuple(part(value[i]) for i, part in enumerate(parts))
    if hint in (int, float, str, bool):
        return typing.cast(Reader, hint)
    return _unchanged


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _unchanged(value: Any) -> Any:
    return value
