"""Frozen records for the modules every command loads, written out instead of generated.

`@dataclass` writes the methods of each class as source text and compiles it when the module
loads: about 0.4 ms a class, plus `dataclasses` itself (and `copy`, `inspect`...). A quick
command such as `comentor add` loads six such classes before it does anything, a tenth of
its cost above the import floor (see docs/performance.md). The classes on that path derive
from :class:`Record` instead: their fields are read from their annotations as the class is
made (no source compiled), one shared constructor sets them, and equality, hashing, `repr`
and the refusal to change a field behave as a frozen dataclass's do (the same exception
type, :class:`dataclasses.FrozenInstanceError`, loaded only when raised). Type checkers see
each record's constructor through ``dataclass_transform``.
"""

from __future__ import annotations

from typing import Any, ClassVar, dataclass_transform

__all__ = ["Record"]


def _frozen(name: str) -> AttributeError:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(f"cannot assign to field {name!r}")


def _is_class_var(kind: object) -> bool:
    """Whether an annotation (a string: every module here postpones them) names a ClassVar,
    which is not a field."""
    return isinstance(kind, str) and kind.startswith(("ClassVar", "typing.ClassVar"))


@dataclass_transform(frozen_default=True)
class Record:
    """Base of a frozen record. Its fields are the subclass's annotated names, in order
    (:attr:`_fields`), a default given as the class attribute of the same name; the type
    checker sees the constructor a frozen dataclass would have.

    The constructor below takes the fields by position or by name, as a dataclass's does; a
    subclass whose fields need work on the way in (a default computed per instance) writes
    its own ``__init__`` with ``object.__setattr__``. Afterwards every assignment or
    deletion raises.
    """

    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(name for name, kind in cls.__dict__.get("__annotations__", {}).items()
                    if not name.startswith("_") and not _is_class_var(kind))
        cls._fields = cls._fields + own
        cls._defaults = {**cls._defaults, **{name: cls.__dict__[name] for name in own
                                              if name in cls.__dict__}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self._fields
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}() takes {len(names)} fields, "
                            f"{len(args)} were given")
        set_ = object.__setattr__
        for name, value in zip(names, args, strict=False):
            set_(self, name, value)
        for name in names[len(args):]:
            if name in kwargs:
                set_(self, name, kwargs.pop(name))
            elif name in self._defaults:
                set_(self, name, self._defaults[name])
            else:
                raise TypeError(f"{type(self).__name__}() misses field {name!r}")
        if kwargs:
            raise TypeError(f"{type(self).__name__}() has no field {next(iter(kwargs))!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def __setattr__(self, name: str, value: Any) -> None:
        raise _frozen(name)

    def __delattr__(self, name: str) -> None:
        raise _frozen(name)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, Record)
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"
