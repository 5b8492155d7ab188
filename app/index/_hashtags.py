"""Restricted hashtags per country, in memory: a set of normalised tags per country, ``XX`` for
everywhere. Thousands of restrictions, not millions: plain Python sets answer a membership in
well under a microsecond, and a batch of 1,000 is two set probes per tag.

Concurrency: as for ``VisibilityIndex`` (see the package docstring): mutated only on the event
loop's thread, in place, each update synchronous, and read on that same thread, so no reader
sees half an update and no lock is needed. Tags arrive normalised (the caller's job), so this
module never normalises.

Snapshot layout (little-endian), version 1::

    header  "WHLDTAG\\n" | u16 version | u16 flags (0) | u32 countries | u32 CRC-32 of the body
    table   per country: 2 ASCII bytes code | u32 tags | u64 bytes of its tags
    body    per country, in table order: its tags in sorted order, UTF-8, each ended by NUL
            (a valid hashtag never contains NUL)
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from app.index._country_codes import ALL_COUNTRIES, check_country_code

MAGIC: Final = b"WHLDTAG\n"
VERSION: Final = 1
_HEADER: Final = struct.Struct("<8sHHII")
_ENTRY: Final = struct.Struct("<2sIQ")
_EMPTY: Final[frozenset[str]] = frozenset()


class HashtagIndex:
    """Which hashtags may not trend (nor be suggested) in which countries."""

    __slots__ = ("_by_country",)

    def __init__(self) -> None:
        self._by_country: dict[str, set[str]] = {}

    def add(self, hashtag: str, country: str) -> bool:
        """Restrict ``hashtag`` in ``country`` (``XX``: everywhere); False if it already was."""
        tags = self._by_country.get(country)
        if tags is None:
            check_country_code(country)
            tags = self._by_country[country] = set()
        if hashtag in tags:
            return False
        tags.add(hashtag)
        return True

    def discard(self, hashtag: str, country: str) -> bool:
        """Lift it; False if it was not restricted there."""
        tags = self._by_country.get(country)
        if tags is None or hashtag not in tags:
            return False
        tags.remove(hashtag)
        if not tags:
            del self._by_country[country]
        return True

    def is_restricted(self, hashtag: str, country: str) -> bool:
        """Restricted in ``country`` or everywhere."""
        return hashtag in self._by_country.get(country, _EMPTY) or hashtag in self._by_country.get(
            ALL_COUNTRIES, _EMPTY
        )

    def eligible_many(self, hashtags: Sequence[str], country: str) -> list[bool]:
        """For each tag in order: may it trend in ``country``? (not restricted there nor in XX)"""
        local = self._by_country.get(country, _EMPTY)
        everywhere = self._by_country.get(ALL_COUNTRIES, _EMPTY)
        if not everywhere:
            return [tag not in local for tag in hashtags]
        if not local:
            return [tag not in everywhere for tag in hashtags]
        return [tag not in local and tag not in everywhere for tag in hashtags]

    def __len__(self) -> int:
        """Active (hashtag, country) pairs."""
        return sum(len(tags) for tags in self._by_country.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HashtagIndex) and self._by_country == other._by_country

    __hash__ = None  # type: ignore[assignment]  # mutable

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Every (hashtag, country), by country then tag."""
        for country in sorted(self._by_country):
            for tag in sorted(self._by_country[country]):
                yield tag, country

    def country_sizes(self) -> dict[str, int]:
        return {country: len(tags) for country, tags in sorted(self._by_country.items())}

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> HashtagIndex:
        index = cls()
        for hashtag, country in pairs:
            index.add(hashtag, country)
        return index

    def to_bytes(self) -> bytes:
        countries = sorted(self._by_country)
        blobs = [
            b"".join(tag.encode("utf-8") + b"\0" for tag in sorted(self._by_country[code]))
            for code in countries
        ]
        table = b"".join(
            _ENTRY.pack(code.encode("ascii"), len(self._by_country[code]), len(blob))
            for code, blob in zip(countries, blobs, strict=True)
        )
        body = table + b"".join(blobs)
        return _HEADER.pack(MAGIC, VERSION, 0, len(countries), zlib.crc32(body)) + body

    @classmethod
    def from_bytes(cls, data: bytes) -> HashtagIndex:
        """Inverse of :meth:`to_bytes`; ``ValueError`` if malformed."""
        if len(data) < _HEADER.size:
            raise ValueError("hashtag snapshot too short")
        magic, version, flags, count, checksum = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ValueError("not a hashtag snapshot")
        if version != VERSION or flags != 0:
            raise ValueError(f"unsupported hashtag snapshot version {version}")
        body = data[_HEADER.size :]
        if zlib.crc32(body) != checksum:
            raise ValueError("hashtag snapshot checksum mismatch")
        offset = count * _ENTRY.size
        if offset > len(body):
            raise ValueError("hashtag snapshot table is truncated")
        index = cls()
        for position in range(count):
            raw_code, tags, length = _ENTRY.unpack_from(body, position * _ENTRY.size)
            blob = body[offset : offset + length]
            offset += length
            try:
                code = raw_code.decode("ascii")
                names = blob.decode("utf-8").split("\0")
            except UnicodeDecodeError as error:
                raise ValueError("hashtag snapshot is not text") from error
            if len(blob) != length or names[-1] != "" or len(names) - 1 != tags:
                raise ValueError("hashtag snapshot entries are malformed")
            check_country_code(code)
            if tags:
                index._by_country[code] = set(names[:-1])
        if offset != len(body):
            raise ValueError("hashtag snapshot has trailing bytes")
        return index
