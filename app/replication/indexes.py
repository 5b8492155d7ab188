"""Every in-memory index a replica holds, one per subject, and their snapshot container.

Accounts and posts each have a :class:`~app.index.VisibilityIndex` (the same design: dense
ordinals, a bitmap per country); restricted hashtags a :class:`~app.index.HashtagIndex`. A
snapshot stores them side by side in one container; a snapshot written before posts existed is a
bare account index, and reads as one with no post rules (there were none then); a version 1
container (before hashtags) reads as one with no hashtag restrictions.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from app.domain import Change, ChangeOp
from app.index import HashtagIndex, VisibilityIndex, joined

MAGIC: Final = b"WHLDSET\n"
VERSION: Final = 2
_HEADER: Final = struct.Struct("<8sHH")
_PART: Final = struct.Struct("<8sQ")
_NAMES: Final = (b"accounts", b"posts\0\0\0", b"hashtags")
_PARTS_OF_VERSION: Final = {1: 2, 2: 3}  # version 1 had no hashtags
_BARE_INDEX: Final = b"WHLDIDX\n"  # app.index._snapshot.MAGIC: a snapshot of accounts alone


def _new() -> VisibilityIndex:
    index = VisibilityIndex()
    index.defer_compaction = True
    return index


@dataclass(eq=True)
class Indexes:
    accounts: VisibilityIndex = field(default_factory=_new)
    posts: VisibilityIndex = field(default_factory=_new)
    hashtags: HashtagIndex = field(default_factory=HashtagIndex)

    def __post_init__(self) -> None:
        # The replica compacts off the event loop itself (see Replica._compact).
        for index in self.all():
            index.defer_compaction = True

    def all(self) -> tuple[VisibilityIndex, ...]:
        return (self.accounts, self.posts)

    def pairs(self) -> int:
        """Active (subject, country) pairs over every index, hashtags included."""
        return sum(len(index) for index in self.all()) + len(self.hashtags)

    def to_bytes(self) -> bytes:
        return bytes(self.snapshot_later()())

    def snapshot_later(self) -> Callable[[], memoryview]:
        """The snapshot in two steps (see ``VisibilityIndex.snapshot_later``): the state copied
        now, on the event loop, and its encoding, for a worker thread."""
        encoders = [index.snapshot_later() for index in self.all()]
        hashtags = self.hashtags.to_bytes()  # a few tags: taken whole, now

        def encode() -> memoryview:
            blobs: list[bytes | memoryview] = [part() for part in encoders]
            blobs.append(hashtags)
            parts = b"".join(
                _PART.pack(name, len(blob)) for name, blob in zip(_NAMES, blobs, strict=True)
            )
            return joined([_HEADER.pack(MAGIC, VERSION, len(blobs)), parts, *blobs])

        return encode

    @classmethod
    def from_bytes(cls, data: bytes) -> Indexes:
        """Inverse of :meth:`to_bytes` (or a bare account index); ``ValueError`` if malformed."""
        if data[: len(_BARE_INDEX)] == _BARE_INDEX:
            return cls(accounts=VisibilityIndex.from_bytes(data))
        if len(data) < _HEADER.size:
            raise ValueError("snapshot too short")
        magic, version, count = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ValueError("not an index snapshot")
        if _PARTS_OF_VERSION.get(version) != count:
            raise ValueError(f"unsupported snapshot container (version {version}, {count} parts)")
        offset = _HEADER.size + count * _PART.size
        if offset > len(data):
            raise ValueError("snapshot container parts are malformed")
        blobs: list[bytes] = []
        for position, expected in enumerate(_NAMES[:count]):
            name, length = _PART.unpack_from(data, _HEADER.size + position * _PART.size)
            if name != expected or offset + length > len(data):
                raise ValueError("snapshot container parts are malformed")
            blobs.append(data[offset : offset + length])
            offset += length
        if offset != len(data):
            raise ValueError("snapshot container has trailing bytes")
        return cls(
            accounts=VisibilityIndex.from_bytes(blobs[0]),
            posts=VisibilityIndex.from_bytes(blobs[1]),
            hashtags=HashtagIndex.from_bytes(blobs[2]) if count > 2 else HashtagIndex(),
        )

    def apply(self, changes: Iterable[Change], *, after: int) -> tuple[int, bool]:
        """Apply the changes that follow revision ``after`` contiguously.

        Returns the revision reached and whether every change was used (False at the first gap:
        the caller must fetch the missing revisions first).

        Rules' changes are applied in runs of the same operation on the same index, each run in
        one batch: within a run their order does not matter, and a batch costs far less per
        pair than a call per change (a slice of them is applied on the event loop).
        """
        applied = after
        accounts, posts = self.accounts, self.posts
        run = _Run(accounts, ChangeOp.WITHHOLD)
        for revision, op, account, country, post, hashtag in changes:
            if revision != applied + 1:
                if revision <= applied:
                    continue
                run.flush()
                return applied, False
            applied = revision
            if hashtag is not None:
                run.flush()
                if op is ChangeOp.WITHHOLD:
                    self.hashtags.add(hashtag, country)
                else:
                    self.hashtags.discard(hashtag, country)
                continue
            index, subject = (accounts, account) if post is None else (posts, post)
            if index is not run.index or op is not run.op:
                run.flush()
                run = _Run(index, op)
            assert subject is not None  # a rule's change always names its account
            run.subjects.append(subject)
            run.countries.append(country)
        run.flush()
        return applied, True


class _Run:
    """Consecutive changes of one operation on one index, applied together by ``flush``."""

    __slots__ = ("countries", "index", "op", "subjects")

    def __init__(self, index: VisibilityIndex, op: ChangeOp) -> None:
        self.index, self.op = index, op
        self.subjects: list[int] = []
        self.countries: list[str] = []

    def flush(self) -> None:
        """Apply the run's changes (once: it is empty afterwards)."""
        if self.subjects:
            if self.op is ChangeOp.WITHHOLD:
                self.index.add_batch(self.subjects, self.countries)
            else:
                self.index.discard_batch(self.subjects, self.countries)
            self.subjects, self.countries = [], []
