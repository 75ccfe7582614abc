"""Reading rows straight from a SQLite file's pages, for repair.

When a journal's b-tree structure is damaged, SQLite stops at the first bad page it meets,
yet the cells of every intact leaf page are still in the file. This walks every page as a
table leaf (page type 13, see https://www.sqlite.org/fileformat2.html), decodes each cell's
record, following overflow chains, and yields every row it can read whole. Rows from
freed pages come too: the caller tells good rows from stale or garbled ones (repair keeps
only operations whose signature verifies). It reads bytes; it never writes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

__all__ = ["scan_rows", "Cell"]

Cell = int | float | str | bytes | None
_LEAF_TABLE = 13
_MAGIC = b"SQLite format 3\x00"


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """A SQLite varint at `pos`: (value, position after it)."""
    value = 0
    for i in range(8):
        byte = buf[pos + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos + i + 1
    return (value << 8) | buf[pos + 8], pos + 9


def _page_size(data: bytes) -> tuple[int, int]:
    """(page size, usable size) from the header, or the usual 4096 when it is unreadable."""
    if len(data) >= 100:
        raw = struct.unpack(">H", data[16:18])[0]
        size = 65536 if raw == 1 else raw
        if size >= 512 and size & (size - 1) == 0:
            reserved = data[20] if data[20] < 64 else 0
            return size, size - reserved
    return 4096, 4096


def _decode_record(payload: bytes) -> list[Cell] | None:
    """The columns of one record, or None when its header does not fit its body."""
    try:
        header_len, pos = _varint(payload, 0)
        if not 1 <= header_len <= len(payload):
            return None
        types = []
        while pos < header_len:
            kind, pos = _varint(payload, pos)
            types.append(kind)
        if pos != header_len:
            return None
        out: list[Cell] = []
        body = header_len
        for kind in types:
            if kind == 0:
                out.append(None)
            elif 1 <= kind <= 6:
                width = (1, 2, 3, 4, 6, 8)[kind - 1]
                chunk = payload[body:body + width]
                if len(chunk) != width:
                    return None
                out.append(int.from_bytes(chunk, "big", signed=True))
                body += width
            elif kind == 7:
                chunk = payload[body:body + 8]
                if len(chunk) != 8:
                    return None
                out.append(struct.unpack(">d", chunk)[0])
                body += 8
            elif kind in (8, 9):
                out.append(kind - 8)
            elif kind >= 12:
                width = (kind - 12) // 2
                chunk = payload[body:body + width]
                if len(chunk) != width:
                    return None
                out.append(chunk if kind % 2 == 0 else chunk.decode("utf-8", "replace"))
                body += width
            else:
                return None
        return out if body == len(payload) else None
    except IndexError:
        return None


def _payload(data: bytes, page_start: int, cell: int, size: int, page_size: int,
             usable: int) -> bytes | None:
    """A cell's whole payload: the part on its page, then its overflow chain."""
    local_max = usable - 35
    if size <= local_max:
        chunk = data[cell:cell + size]
        return chunk if len(chunk) == size and cell + size <= page_start + usable else None
    min_local = (usable - 12) * 32 // 255 - 23
    local = min_local + (size - min_local) % (usable - 4)
    if local > local_max:
        local = min_local
    parts = [data[cell:cell + local]]
    have = local
    (next_page,) = struct.unpack(">I", data[cell + local:cell + local + 4])
    pages = len(data) // page_size
    seen = 0
    while have < size:
        if not 1 <= next_page <= pages or seen > pages:
            return None
        start = (next_page - 1) * page_size
        (next_page,) = struct.unpack(">I", data[start:start + 4])
        take = min(usable - 4, size - have)
        parts.append(data[start + 4:start + 4 + take])
        have += take
        seen += 1
    out = b"".join(parts)
    return out if len(out) == size else None


def scan_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    """(rowid, columns) of every cell on every page that reads as a table leaf."""
    page_size, usable = _page_size(data)
    pages = len(data) // page_size
    if pages == 0:
        return
    data = data[: pages * page_size]
    for number in range(1, pages + 1):
        start = (number - 1) * page_size
        head = start + (100 if number == 1 else 0)
        if data[head] != _LEAF_TABLE:
            continue
        (count,) = struct.unpack(">H", data[head + 3:head + 5])
        pointers = head + 8
        if pointers + 2 * count > start + usable:
            continue
        for i in range(count):
            (offset,) = struct.unpack(">H", data[pointers + 2 * i:pointers + 2 * i + 2])
            cell = start + offset
            if not pointers + 2 * count <= cell < start + usable:
                continue
            try:
                size, pos = _varint(data, cell)
                rowid, pos = _varint(data, pos)
                payload = _payload(data, start, pos, size, page_size, usable)
            except (IndexError, struct.error):
                continue
            if payload is None:
                continue
            row = _decode_record(payload)
            if row is not None:
                yield rowid, row
