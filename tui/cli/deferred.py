"""What a quick command's process does without: standard modules it imports but almost never
uses (loaded on first use), and the collector's passes at exit.

`dataclasses` imports `inspect` (with `ast`, `dis`, `tokenize`: about 5 ms, a sixth of
`comentor add`) only to write a docstring for a dataclass that has none; every dataclass
of the model has one. While :func:`defer` is in force, the first ``import inspect`` gets a
module that loads itself on its first attribute access (the standard library's
:class:`importlib.util.LazyLoader`, as its documentation shows), so nothing changes but
the time, and a command that does use `inspect` still gets all of it. A module that is
already imported, or imported again later, is left alone.

At exit, the interpreter's garbage collector passes over every object still alive (the
modules' classes, functions and tables: tens of thousands) before tearing them down; for a
process that ends right after its command that is about 5 ms of `comentor add`, a tenth of
it. After a quick command has succeeded, :func:`spare_exit_collection` has `gc.freeze` run
at exit (registered with `atexit`, so before those passes): the collector then leaves them
alone, and the memory goes back with the process. The command's work is done by then: the
journal is closed (its last transaction committed with synchronous=FULL) before `main`
returns, and standard output is flushed as before. After a failure the collection runs as
usual: an SQLite error caught on the way can leave a statement in a reference cycle, and
only the collector's pass finishes closing its connection (folding the -wal back).

Only single-threaded commands use it: before Python 3.12 a lazy module that two threads
touch at once for the first time can be seen half-loaded.
"""

from __future__ import annotations

import atexit
import gc
import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["DEFERRED", "defer", "spare_exit_collection"]

DEFERRED = ("inspect",)


class _Finder:
    """A meta-path finder that hands out a lazily loading spec for the deferred names, once."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = {name for name in names if name not in sys.modules}

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.names:
            return None
        self.names.discard(name)
        spec = importlib.util.find_spec(name)  # the finders after this one
        if spec is None or spec.loader is None:
            return None
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer(names: Sequence[str] = DEFERRED) -> None:
    """Load `names` only when first used (for the rest of this process)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder(names))


def spare_exit_collection() -> None:
    """After a quick command succeeded, as the process's own command: skip the collector's
    passes over what is left at exit (see the module's docstring)."""
    global _spared
    if not _spared:
        _spared = True
        atexit.register(gc.freeze)


_spared = False
