"""The snapshot format of a visibility index: versioned, self-describing, checked.

Layout (little-endian), version 1::

    header   "WHLDIDX\\n" | u16 version | u16 flags (0) | u64 base ids | u64 delta ids
             | u32 countries | u32 CRC-32 of everything after the header
    table    per country: 2 ASCII bytes code | u64 serialized bitmap length
    body     base hashes (u64 each, strictly increasing) | delta ids (u64 each)
             | the bitmaps, pyroaring's portable serialization, in table order

Base ids are stored as their hashes (the order the lookup layout needs), so loading
is a few numpy copies and one bitmap deserialization per country, no per-id loop
(the delta, bounded by the compaction threshold, becomes a dict in C via ``zip``).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np
from pyroaring import BitMap

from app.index._country_codes import check_country_code
from app.index._ordinals import MAX_ID, MAX_ORDINALS, U64, OrdinalMap, unhash

MAGIC: Final = b"WHLDIDX\n"
VERSION: Final = 1
_HEADER: Final = struct.Struct("<8sHHQQII")
_ENTRY: Final = struct.Struct("<2sQ")
_COPY_CHUNK: Final = 1 << 20

Buffer = bytes | bytearray | memoryview


def encode(ordinals: OrdinalMap, bitmaps: dict[str, BitMap]) -> bytes:
    """Serialize an ordinal map and its country bitmaps."""
    return bytes(encode_parts(ordinals.base_hashes, ordinals.delta_ids(), bitmaps))


def encode_parts(base_hashes: U64, delta_ids: U64, bitmaps: dict[str, BitMap]) -> memoryview:
    """:func:`encode` of an ordinal map's parts (the base is immutable, ``delta_ids`` and
    ``bitmaps`` copies): it reads nothing that changes, so it may run in a worker thread."""
    serialized = {code: bitmaps[code].serialize() for code in sorted(bitmaps)}
    table = b"".join(
        _ENTRY.pack(code.encode("ascii"), len(blob)) for code, blob in serialized.items()
    )
    body: list[Buffer] = [
        table,
        _u64_bytes(base_hashes),
        _u64_bytes(delta_ids),
        *serialized.values(),
    ]
    checksum = 0
    for part in body:
        checksum = zlib.crc32(part, checksum)  # releases the GIL over large parts
    header = _HEADER.pack(
        MAGIC, VERSION, 0, len(base_hashes), len(delta_ids), len(serialized), checksum
    )
    return joined([header, *body])


def _u64_bytes(values: U64) -> memoryview:
    """The little-endian bytes of a uint64 array, without copying them."""
    return memoryview(np.ascontiguousarray(values, dtype="<u8").data).cast("B")


def joined(parts: Sequence[Buffer]) -> memoryview:
    """``b"".join(parts)``, copied ``_COPY_CHUNK`` bytes at a time into memory that is not
    zero-filled first: a 10M-pair snapshot is ~150 MB, and one call copying (or zeroing) it
    would hold the GIL for tens of milliseconds while every lookup waits."""
    views = [memoryview(part).cast("B") for part in parts]
    out = np.empty(sum(view.nbytes for view in views), dtype=np.uint8)  # each byte set below
    at = 0
    for view in views:
        for start in range(0, view.nbytes, _COPY_CHUNK):
            piece = np.frombuffer(view[start : start + _COPY_CHUNK], dtype=np.uint8)
            out[at : at + len(piece)] = piece
            at += len(piece)
    return out.data.cast("B")


def decode(data: bytes) -> tuple[OrdinalMap, dict[str, BitMap]]:
    """Inverse of :func:`encode`; raises ``ValueError`` on anything malformed."""
    view = memoryview(data)
    if len(view) < _HEADER.size:
        raise ValueError("snapshot too short")
    magic, version, flags, base_size, delta_size, country_count, checksum = _HEADER.unpack_from(
        view
    )
    if magic != MAGIC:
        raise ValueError("not a visibility index snapshot")
    if version != VERSION:
        raise ValueError(f"unsupported snapshot version {version} (this build reads {VERSION})")
    if flags != 0:
        raise ValueError(f"unknown snapshot flags {flags:#x}")
    if base_size + delta_size > MAX_ORDINALS:
        raise ValueError("snapshot holds too many accounts")
    table_end = _HEADER.size + country_count * _ENTRY.size
    if len(view) < table_end:
        raise ValueError("snapshot truncated in its country table")
    entries = [
        _ENTRY.unpack_from(view, _HEADER.size + i * _ENTRY.size) for i in range(country_count)
    ]
    ids_end = table_end + 8 * (base_size + delta_size)
    expected = ids_end + sum(length for _, length in entries)
    if len(view) != expected:
        raise ValueError(f"snapshot is {len(view)} bytes, its header describes {expected}")
    if zlib.crc32(view[_HEADER.size :]) != checksum:
        raise ValueError("snapshot checksum mismatch")

    keys = np.frombuffer(view, dtype="<u8", count=base_size, offset=table_end)
    keys = keys.astype(np.uint64)  # a copy: do not pin the snapshot bytes
    delta = np.frombuffer(
        view, dtype="<u8", count=delta_size, offset=table_end + 8 * base_size
    ).astype(np.uint64)
    if base_size > 1 and not bool((keys[1:] > keys[:-1]).all()):
        raise ValueError("snapshot base ids are not in hash order")
    for ids in (unhash(keys), delta):
        if len(ids) and (int(ids.min()) < 1 or int(ids.max()) > MAX_ID):
            raise ValueError("snapshot holds an account id outside 1..2**63-1")
    ordinals = OrdinalMap.from_parts(keys, delta)
    if delta_size and bool((ordinals.get_many(delta) != np.arange(base_size, len(ordinals))).any()):
        raise ValueError("snapshot delta repeats a base id")

    bitmaps: dict[str, BitMap] = {}
    position = ids_end
    for raw_code, length in entries:
        code = check_country_code(raw_code.decode("ascii", errors="replace"))
        if code in bitmaps:
            raise ValueError(f"snapshot repeats country {code}")
        try:
            bitmap = BitMap.deserialize(bytes(view[position : position + length]))
        except Exception as error:  # pyroaring raises ValueError, be sure of the type
            raise ValueError(f"snapshot bitmap for {code} is corrupt") from error
        position += length
        if bitmap and bitmap.max() >= len(ordinals):
            raise ValueError(f"snapshot bitmap for {code} refers to unknown accounts")
        bitmaps[code] = bitmap
    return ordinals, bitmaps
