"""Frozen records for the modules every command loads, written out instead of generated.

`@dataclass` writes the methods of each class as source text and compiles it when the module
loads: about 0.4 ms a class, plus `dataclasses` itself (and `copy`, `inspect`...). A quick
command such as `comentor add` loads six such classes before it does anything, a tenth of
its cost above the import floor (see docs/performance.md). The classes on that path derive
from :class:`Record` instead and write their own ``__init__``: equality, hashing, `repr` and
the refusal to change a field behave as a frozen dataclass's do (the same exception type,
:class:`dataclasses.FrozenInstanceError`, loaded only when raised).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Record"]


def _frozen(name: str) -> AttributeError:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(f"cannot assign to field {name!r}")


class Record:
    """Base of a frozen record whose fields, in order, are :attr:`_fields`.

    A subclass sets its fields in ``__init__`` with ``object.__setattr__`` (as a frozen
    dataclass's ``__init__`` does); afterwards every assignment or deletion raises.
    """

    _fields: tuple[str, ...] = ()

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
