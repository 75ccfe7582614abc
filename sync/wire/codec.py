"""The msgpack codec of every message we read from someone else: strict and bounded.

Strings and bytes stay distinct, map keys must be str or bytes, extension types are
refused, and every container and string is capped by the input's own length, so no
declared length can make msgpack preallocate. Anything that does not decode exactly is a
:class:`ProtocolError`. Live sessions, envelopes and pairing messages all decode here.
"""

from __future__ import annotations

from typing import Any

import msgpack

from comentor.sync.errors import ProtocolError
from comentor.sync.wire.framing import MAX_FRAME_SIZE
from comentor.sync.wire.noise import TAGLEN

__all__ = ["MAX_MESSAGE_SIZE", "encode_message", "decode_message", "unpack_strict"]

MAX_MESSAGE_SIZE = MAX_FRAME_SIZE - TAGLEN  # plaintext room left after the AEAD tag


def encode_message(obj: Any) -> bytes:
    """msgpack with distinct str/bytes; objects msgpack cannot represent are a ProtocolError."""
    try:
        data = msgpack.packb(obj, use_bin_type=True, strict_types=False, datetime=False)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(f"cannot encode message: {exc}") from exc
    if len(data) > MAX_MESSAGE_SIZE:
        raise ProtocolError(
            f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_SIZE}-byte limit"
        )
    return bytes(data)


def unpack_strict(data: bytes, max_size: int, what: str = "message") -> Any:
    """Decode one msgpack object of at most ``max_size`` bytes; ``what`` names it in errors."""
    if not isinstance(data, bytes | bytearray) or len(data) > max_size:
        raise ProtocolError(f"{what} too large or not bytes")
    limit = len(data)

    def no_ext(code: int, _data: bytes) -> Any:
        raise ProtocolError(f"malformed {what}: msgpack extension type {code}")

    try:
        return msgpack.unpackb(
            bytes(data), raw=False, strict_map_key=True, use_list=True, ext_hook=no_ext,
            max_str_len=limit, max_bin_len=limit, max_array_len=limit, max_map_len=limit,
            max_ext_len=0,
        )
    except ProtocolError:
        raise
    except Exception as exc:  # msgpack raises many types (ExtraData, StackError, Unicode...)
        raise ProtocolError(f"malformed {what}: {type(exc).__name__}") from None


def decode_message(data: bytes) -> Any:
    """Strict decoding of one message of at most :data:`MAX_MESSAGE_SIZE` bytes."""
    return unpack_strict(data, MAX_MESSAGE_SIZE)
