"""Operations: the one unit of change, its canonical bytes, signature and wire form.

An operation is (replica, seq, hlc, table, row, fields, bases, signature). The replica is
`<device id>.<epoch>`: a device restored from a backup moves to a new epoch, so it never
reuses a sequence number. `bases` names, for each long-text field, the versions the author
saw when editing (stamps); it is how concurrent edits are told apart from later ones.
The signature covers the canonical msgpack encoding of everything else.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import time
from collections.abc import Callable
from typing import Any

from ._record import Record
from ._schema import LONG_TEXT_LIMIT, TABLES, TEXT_LIMIT
from .errors import InvalidOperationError, ValidationError

__all__ = [
    "Operation",
    "Value",
    "new_row_id",
    "new_person_id",
    "short_id",
    "stamp_of",
    "device_of",
    "is_replica_id",
    "validate_fields",
    "encode_op",
    "decode_op",
    "MAX_OP_BYTES",
]

Value = str | int | bool | bytes | None
MAX_OP_BYTES = 256 * 1024
_ROW_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
# `<device id>.<epoch>`: epochs were counters (1-6 digits) before they were random (15)
_REPLICA = re.compile(r"^[a-z2-7]{16}\.[0-9]{1,15}$")
_SIG_CONTEXT = b"comentor-op-v1"
_ID_RANDOM = 46  # random bits at the end of a row id; the 34 before them count seconds
_ID_SECONDS = 1 << (80 - _ID_RANDOM)


def new_row_id(rand: Callable[[int], bytes] = os.urandom, now: float | None = None) -> str:
    """A globally unique row id: 16 characters of base32hex (80 bits, `0-9a-v`, whose
    order as text is the order of the numbers), the second it was made (34 bits, good until
    the year 2514) and then 46 random bits.

    Time first, so that rows made together sit together in every index keyed by a row id
    (the row's own, its text versions, its search document): a first sync of a long
    history then appends to them instead of writing about one random page per operation in
    each (docs/performance.md). People see and type the random end (:func:`short_id`). Ids
    made before were 80 random bits; both kinds live side by side. Ten random bytes are
    drawn, as ever, and their leading bits kept, so a seeded stream (the demo's) stays where
    it was."""
    seconds = int(time.time() if now is None else now) % _ID_SECONDS
    bits = seconds << _ID_RANDOM | int.from_bytes(rand(10), "big") >> (80 - _ID_RANDOM)
    return base64.b32hexencode(bits.to_bytes(10, "big")).decode("ascii").lower()


def new_person_id(rand: Callable[[int], bytes] = os.urandom) -> str:
    """A person's id: 80 random bits in base32 (`a-z2-7`), as every id was before 0.3.0.
    Made once per person, so nothing gains from time order, and pairing messages of every
    release check a person id in this alphabet."""
    return base64.b32encode(rand(10)).decode("ascii").lower()


def short_id(row: str) -> str:
    """The part of a row id people see and type: its last eight characters (the random
    end of an id made now, and as good as any eight of an older, wholly random one)."""
    return row[-8:]


def stamp_of(hlc: int, replica: str) -> str:
    """A version stamp that sorts like (hlc, replica): the order LWW uses."""
    return f"{hlc:020d}@{replica}"


def is_replica_id(text: object) -> bool:
    """Whether `text` is a well-formed replica id (the one rule every decoder uses)."""
    return isinstance(text, str) and _REPLICA.match(text) is not None


def device_of(replica: str) -> str:
    """The device id part of a replica id."""
    return replica.split(".", 1)[0]


class Operation(Record):
    """One signed change to one row of a synced table (a frozen record: see _record.py)."""

    replica: str
    seq: int
    hlc: int
    table: str
    row: str
    fields: dict[str, Value]
    bases: dict[str, list[str]]
    sig: bytes

    def __init__(self, replica: str, seq: int, hlc: int, table: str, row: str,
                 fields: dict[str, Value], bases: dict[str, list[str]] | None = None,
                 sig: bytes = b"") -> None:
        set_ = object.__setattr__
        set_(self, "replica", replica)
        set_(self, "seq", seq)
        set_(self, "hlc", hlc)
        set_(self, "table", table)
        set_(self, "row", row)
        set_(self, "fields", fields)
        set_(self, "bases", {} if bases is None else bases)
        set_(self, "sig", sig)

    @property
    def device(self) -> str:
        return device_of(self.replica)

    @property
    def stamp(self) -> str:
        return stamp_of(self.hlc, self.replica)

    @property
    def kind(self) -> str:
        """put, delete or undelete: what a person would call this change."""
        if "deleted" in self.fields:
            return "delete" if self.fields["deleted"] else "undelete"
        return "put"

    def body(self) -> bytes:
        """The canonical encoding of fields and bases, as stored in the ops table."""
        packed: bytes | None = self.__dict__.get("_body")  # kept by decode_op, which packed it
        if packed is None:
            return _pack([sorted(self.fields.items()), sorted(self.bases.items())])
        return packed

    def signed_bytes(self) -> bytes:
        """The exact bytes the author's Ed25519 key signs."""
        head: bytes | None = self.__dict__.get("_head")  # [replica, seq, hlc, table, row]
        if head is None:  # not decoded from the wire (decode_op keeps the one it packed)
            head = _pack([self.replica, self.seq, self.hlc, self.table, self.row])
        # an array of six (0x96) whose first item is the format, 1; then the five
        return _SIG_CONTEXT + b"\x96\x01" + head[1:] + self.body()


def _pack(obj: Any) -> bytes:
    import msgpack  # where used: see _clocks.py (reading a journal never packs)
    return msgpack.packb(obj, use_bin_type=True)


def _check_date(value: str, with_time: bool) -> None:
    try:
        if with_time:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            dt.date.fromisoformat(value)
            if len(value) != 10:
                raise ValueError(value)
    except ValueError:
        kind = "date-time" if with_time else "date (YYYY-MM-DD)"
        raise ValidationError(f"not a valid {kind}: {value!r}") from None


def _check_value(table: str, name: str, value: Value) -> Value:
    """Check one value against its field; return it normalised or raise ValidationError."""
    if name == "deleted":
        if not isinstance(value, bool) and value not in (0, 1):
            raise ValidationError("deleted must be true or false")
        return bool(value)
    spec = TABLES[table].get(name)
    if spec is None:
        raise ValidationError(f"{table} has no field {name!r}")
    if value is None:
        return None
    kind = spec.kind
    if kind in ("str", "text", "enum", "date", "datetime", "ref"):
        if not isinstance(value, str):
            raise ValidationError(f"{table}.{name} must be text")
        limit = LONG_TEXT_LIMIT if kind == "text" else TEXT_LIMIT
        if len(value) > limit:
            from ._kinds import item_kind  # only here: a refusal names the kind

            raise ValidationError(
                f"the {name.replace('_', ' ')} of this {item_kind(table)} is longer than "
                f"{limit:,} characters ({len(value):,} given): shorten it, or split it in two")
        if kind == "enum" and value not in spec.choices:
            raise ValidationError(
                f"{name} must be one of {', '.join(c for c in spec.choices if c)}, not {value!r}"
            )
        if kind in ("date", "datetime"):
            _check_date(value, kind == "datetime")
        if kind == "ref" and value and not _ROW_ID.match(value):
            raise ValidationError(f"{table}.{name} is not a valid id")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValidationError(f"{table}.{name} must be true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{table}.{name} must be a whole number")
        if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
            raise ValidationError(f"{name} must be between {spec.low} and {spec.high}, not {value}")
        return value
    if kind == "bytes":
        if not isinstance(value, bytes) or len(value) > spec.max_bytes:
            raise ValidationError(f"{table}.{name} must be at most {spec.max_bytes} bytes")
        return value
    raise ValidationError(f"{table}.{name} has an unknown kind")  # pragma: no cover


def validate_fields(table: str, row: str, fields: dict[str, Value]) -> dict[str, Value]:
    """Validate a table name, row id and field values; raise ValidationError on any misfit."""
    if table not in TABLES:
        raise ValidationError(f"unknown table {table!r}")
    if not isinstance(row, str) or not _ROW_ID.match(row):
        raise ValidationError(f"not a valid id: {row!r}")
    if not fields:
        raise ValidationError("an operation must set at least one field")
    return {name: _check_value(table, name, value) for name, value in fields.items()}


def encode_op(op: Operation) -> bytes:
    """The wire form of an operation (msgpack), as carried in change sets."""
    return _pack(
        [op.replica, op.seq, op.hlc, op.table, op.row, sorted(op.fields.items()),
         sorted(op.bases.items()), op.sig]
    )


def _fail(why: str) -> InvalidOperationError:
    return InvalidOperationError(f"malformed operation: {why}")


def decode_op(data: bytes) -> Operation:
    """Decode and validate an operation's wire form strictly; raise InvalidOperationError."""
    if not isinstance(data, bytes) or len(data) > MAX_OP_BYTES:
        raise _fail("too large or not bytes")
    import msgpack

    try:
        obj = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except Exception:  # msgpack raises many types for garbage
        raise _fail("not msgpack") from None
    if not isinstance(obj, list) or len(obj) != 8:
        raise _fail("wrong shape")
    replica, seq, hlc, table, row, fields, bases, sig = obj
    if not isinstance(replica, str) or not _REPLICA.match(replica):
        raise _fail("bad replica id")
    for name, num in (("seq", seq), ("hlc", hlc)):
        if isinstance(num, bool) or not isinstance(num, int) or not 0 < num < 2**63:
            raise _fail(f"bad {name}")
    if not isinstance(sig, bytes) or len(sig) != 64:
        raise _fail("bad signature length")
    if not isinstance(table, str) or not isinstance(row, str):
        raise _fail("bad table or row")
    pairs = _pairs(fields, "fields")
    base_pairs = _pairs(bases, "bases")
    try:
        clean = validate_fields(table, row, dict(pairs))
    except ValidationError as exc:
        raise _fail(str(exc)) from None
    if len(clean) != len(pairs):
        raise _fail("duplicate field")
    base_map: dict[str, list[str]] = {}
    for name, stamps in base_pairs:
        if name not in clean or not isinstance(stamps, list) or len(stamps) > 64:
            raise _fail("bad bases")
        if not all(isinstance(s, str) and len(s) < 64 for s in stamps):
            raise _fail("bad base stamp")
        base_map[name] = list(stamps)
    op = Operation(replica, seq, hlc, table, row, clean, base_map, sig)
    # the canonical form, from the same two packings the signature check and the log need
    # (an array is its header and its items one after another): each is packed once
    head = _pack([replica, seq, hlc, table, row])
    body = _pack([sorted(clean.items()), sorted(base_map.items())])
    if data != b"\x98" + head[1:] + body[1:] + b"\xc4\x40" + sig:
        raise _fail("not in canonical form")
    object.__setattr__(op, "_head", head)
    object.__setattr__(op, "_body", body)
    return op


def _pairs(obj: Any, what: str) -> list[tuple[str, Any]]:
    if not isinstance(obj, list) or len(obj) > 64:
        raise _fail(f"bad {what}")
    out = []
    for item in obj:
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str):
            raise _fail(f"bad {what} entry")
        out.append((item[0], item[1]))
    return out
