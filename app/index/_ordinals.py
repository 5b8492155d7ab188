"""Account id -> dense ordinal, compact and fast from Python.

Roaring bitmaps only compress dense integers, and account ids are sparse 64-bit
snowflakes. So every id gets an ordinal (0, 1, 2, ...) and the bitmaps hold ordinals.

The base is an immutable bucketed hash layout built with numpy:

* ``h(x) = (x * 0x9E3779B97F4A7C15) mod 2**64``. Multiplying by an odd constant is a
  bijection on uint64, so the index stores ``h(x)`` instead of ``x`` (same 8 bytes) and
  recovers ``x`` by multiplying with the modular inverse. Storing hashes lets the keys be
  one globally sorted array: sorted by hash means sorted by bucket (the top ``bits`` of
  the hash) and, inside a bucket, by hash, so a probe can stop early on a miss and two
  sorted runs merge in O(n) at compaction.
* ``keys``: the sorted hashes, uint64; an id's ordinal is its position in ``keys``.
* ``offsets``: where each of the ``2**bits`` buckets starts (``bits`` ~ log2(n / 4), so
  a bucket holds about four keys). About 9 bytes per id in total.

A single probe bisects a ``memoryview`` of the keys inside its bucket (plain ints, where
indexing numpy would build slow numpy scalars); a batch runs the same binary search for every
query in step, as whole-array operations.

Ids that are not in the base go to a small delta: a map id -> ordinal (``_probe.c``'s
``DeltaMap``, two flat arrays; a dict without the compiled module) plus an ``array('Q')`` of the
delta ids in ordinal order, ordinals continuing after the base.
The owner (the visibility index) folds the delta into a new base when it grows. Batch lookups
search a bucketed copy of the delta, merged forward as the delta grows.
"""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left
from typing import Final, TypeAlias

import numpy as np
from numpy.typing import NDArray

from app.index._compiled import BaseProbe, DeltaMap

Delta: TypeAlias = "DeltaMap | dict[int, int]"


def _new_delta() -> Delta:
    return DeltaMap() if DeltaMap is not None else {}


U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
U32 = NDArray[np.uint32]

MASK64: Final = (1 << 64) - 1
GOLDEN: Final = 0x9E3779B97F4A7C15
GOLDEN_INVERSE: Final = pow(GOLDEN, -1, 1 << 64)
# Ordinals live in 32-bit Roaring bitmaps.
MAX_ORDINALS: Final = 1 << 32
MIN_BUCKET_BITS: Final = 4
MAX_BUCKET_BITS: Final = 32

MIN_ID: Final = 1
MAX_ID: Final = (1 << 63) - 1
"""Ids (accounts, posts) are 1 … 2**63-1: they fit a signed BIGINT. The one definition."""
"""The largest account id (ids are positive signed 64-bit integers)."""
# base_ordinal_of_decimal's answers besides an ordinal (as in _probe.c).
NOT_IN_BASE: Final = -1
NOT_AN_ACCOUNT: Final = -2

_GOLDEN_U64: Final = np.uint64(GOLDEN)
_GOLDEN_INVERSE_U64: Final = np.uint64(GOLDEN_INVERSE)
# get_many merges new delta ids into its bucketed copy of the delta at once while the copy
# holds up to _DELTA_MERGE_ALWAYS ids, else once more than _DELTA_TAIL are new.
_DELTA_MERGE_ALWAYS: Final = 1 << 16
_DELTA_TAIL: Final = 1024


def hash_ids(ids: U64) -> U64:
    """Hash every id (array multiplication wraps modulo 2**64 without a warning)."""
    return np.multiply(ids, _GOLDEN_U64, dtype=np.uint64)


def unhash(hashes: U64) -> U64:
    """Invert :func:`hash_ids`."""
    return np.multiply(hashes, _GOLDEN_INVERSE_U64, dtype=np.uint64)


def bucket_bits(n: int) -> int:
    """Bits of hash that pick a bucket: 2**bits is the power of two nearest n / 4."""
    bits = round(math.log2(max(n, 1) / 4))
    return min(max(bits, MIN_BUCKET_BITS), MAX_BUCKET_BITS)


class OrdinalMap:
    """Maps account ids to dense ordinals; see the module docstring for the layout."""

    __slots__ = (
        "_delta",
        "_delta_ids",
        "_keys",
        "_keys_view",
        "_offsets",
        "_offsets_view",
        "_search_steps",
        "_shift",
        "_sorted_delta",
        "_sorted_delta_ordinals",
        "base_probe",
    )

    def __init__(self, sorted_hashes: U64 | None = None) -> None:
        """Build a base from strictly increasing hashes (``hash_ids`` of unique ids)."""
        keys = np.ascontiguousarray(
            np.zeros(0, dtype=np.uint64) if sorted_hashes is None else sorted_hashes,
            dtype=np.uint64,
        )
        n = len(keys)
        if n >= MAX_ORDINALS:
            raise ValueError(f"too many accounts for 32-bit ordinals: {n}")
        bits = bucket_bits(n)
        shift = 64 - bits
        # Keys are sorted, so bucket starts are a search for each bucket's lowest hash.
        offsets = np.empty((1 << bits) + 1, dtype=np.uint32)
        lowest = np.arange(1 << bits, dtype=np.uint64) << np.uint64(shift)
        offsets[:-1] = np.searchsorted(keys, lowest)
        offsets[-1] = n
        keys.setflags(write=False)
        offsets.setflags(write=False)
        self._keys: U64 = keys
        self._offsets: U32 = offsets
        self._keys_view = keys.data  # memoryview: indexing gives plain ints
        self._offsets_view = offsets.data
        self._shift = shift
        # Halvings that find a key's place in the longest bucket (a lower-bound search).
        longest = int(np.diff(offsets).max()) if n else 0
        self._search_steps = longest.bit_length()
        self._delta: Delta = _new_delta()
        self._delta_ids = array("Q")
        # get_many's view of the delta (which only grows): a base-only map of a prefix of
        # it and the ordinal behind each of its positions. Built on first use.
        self._sorted_delta: OrdinalMap | None = None
        self._sorted_delta_ordinals: U32 = np.zeros(0, dtype=np.uint32)
        self.base_probe = BaseProbe(keys, offsets, shift) if BaseProbe is not None else None
        """The base's compiled probe, None without ``_probe.c``: its ``ordinal_of_decimal`` is
        :meth:`base_ordinal_of_decimal` compiled, and the compiled index probe searches with it."""

    @classmethod
    def from_parts(cls, sorted_hashes: U64, delta_ids: U64) -> OrdinalMap:
        """Rebuild a map from its base hashes and delta ids (as written by a snapshot)."""
        ordinals = cls(sorted_hashes)
        first = len(sorted_hashes)
        ids = np.ascontiguousarray(delta_ids, dtype=np.uint64)
        if first + len(ids) > MAX_ORDINALS:
            raise ValueError("too many accounts for 32-bit ordinals")
        ordinals._delta_ids.frombytes(ids.tobytes())
        delta = ordinals._delta
        if isinstance(delta, dict):
            delta.update(zip(ids.tolist(), range(first, first + len(ids)), strict=True))
            if len(delta) != len(ids):
                raise ValueError("duplicate delta ids")
        else:
            delta.extend(ids, first)  # ValueError on a duplicate
        return ordinals

    def __len__(self) -> int:
        """Number of ordinals handed out (base plus delta)."""
        return len(self._keys) + len(self._delta_ids)

    @property
    def base_size(self) -> int:
        return len(self._keys)

    @property
    def delta_size(self) -> int:
        return len(self._delta_ids)

    @property
    def base_hashes(self) -> U64:
        """The sorted hashes of the base ids (read-only)."""
        return self._keys

    @property
    def delta(self) -> Delta:
        """The delta itself, id -> ordinal: live (compiled probes read it at each lookup);
        only this map may change it."""
        return self._delta

    def delta_ids(self) -> U64:
        """A copy of the delta ids in ordinal order."""
        # A copy: a live numpy view would pin the array('Q') and forbid appends.
        return np.array(self._delta_ids, dtype=np.uint64)

    def forget_delta(self, count: int) -> None:
        """Of a map no longer read (replaced by a compaction): drop up to ``count`` delta
        entries. A dict delta of half a million entries (each an id and an ordinal object)
        freed in one go held the GIL, and the event loop, for tens of milliseconds; a
        ``DeltaMap`` frees its two arrays at once."""
        delta = self._delta
        if not isinstance(delta, dict):
            delta.clear()
            return
        for _ in range(min(count, len(delta))):
            delta.popitem()

    def get(self, account: int) -> int:
        """The ordinal of ``account``, or -1 when it has none."""
        if not 0 <= account <= MASK64:
            return -1
        ordinal = self._base_ordinal((account * GOLDEN) & MASK64)
        return ordinal if ordinal >= 0 else self._delta.get(account, -1)

    def delta_ordinal(self, digits: bytes) -> int:
        """The ordinal of an account (in decimal digits) that the base lacks, or -1."""
        return self._delta.get(int(digits), -1) if self._delta else -1

    def _base_ordinal(self, hashed: int) -> int:
        """The position of ``hashed`` in the base keys, or ``NOT_IN_BASE``."""
        bucket = hashed >> self._shift
        offsets = self._offsets_view
        end = offsets[bucket + 1]
        # bisect in C over the memoryview: no bytecode per probe.
        i = bisect_left(self._keys_view, hashed, offsets[bucket], end)
        if i < end and self._keys_view[i] == hashed:
            return i
        return NOT_IN_BASE

    def base_ordinal_of_decimal(self, digits: bytes) -> int:
        """The base ordinal of an account written in decimal digits (as a query string has
        it): ``NOT_IN_BASE`` when the base lacks it (look in the delta), ``NOT_AN_ACCOUNT``
        unless the digits are an id in 1..2**63-1 written canonically (1-19 ASCII digits, no
        leading zero). ``base_probe.ordinal_of_decimal`` is its compiled twin."""
        if not (len(digits) <= 19 and digits.isdigit() and digits[0] != 0x30):
            return NOT_AN_ACCOUNT  # b"".isdigit() is False; bytes.isdigit() is ASCII-only
        account = int(digits)
        if account > MAX_ID:
            return NOT_AN_ACCOUNT
        return self._base_ordinal((account * GOLDEN) & MASK64)

    def get_or_add(self, account: int) -> int:
        """The ordinal of ``account``, handing out the next one to a new id."""
        ordinal = self.get(account)
        if ordinal < 0:
            ordinal = len(self)
            if ordinal >= MAX_ORDINALS:
                raise ValueError("too many accounts for 32-bit ordinals")
            self._delta[account] = ordinal
            self._delta_ids.append(account)
        return ordinal

    def get_batch(self, accounts: list[int]) -> I64:
        """Ordinals of ``accounts`` (ids in 1..2**63-1), -1 where absent, same order: the base
        searched for all of them at once, the delta one id at a time. For the few hundred ids
        of a slice of changes; ``get_many`` keeps a sorted copy of the delta for large batches,
        whose merges would hold an event loop for tens of milliseconds."""
        result = self._base_ordinals(hash_ids(np.array(accounts, dtype=np.uint64)))
        if self._delta_ids:
            missing = np.flatnonzero(result < 0).tolist()
            if missing:
                delta_get = self._delta.get
                result[missing] = [delta_get(accounts[i], -1) for i in missing]
        return result

    def get_or_add_batch(self, accounts: list[int]) -> I64:
        """``get_or_add`` for each of ``accounts`` (ids in 1..2**63-1), in order: a repeated
        new id gets the ordinal its first occurrence was given."""
        result = self._base_ordinals(hash_ids(np.array(accounts, dtype=np.uint64)))
        missing = np.flatnonzero(result < 0).tolist()
        if missing:
            delta, delta_ids = self._delta, self._delta_ids
            base_size, get, given = len(self._keys), delta.get, []
            for i in missing:
                account = accounts[i]
                ordinal = get(account, -1)
                if ordinal < 0:
                    ordinal = base_size + len(delta_ids)
                    if ordinal >= MAX_ORDINALS:
                        raise ValueError("too many accounts for 32-bit ordinals")
                    delta[account] = ordinal
                    delta_ids.append(account)
                given.append(ordinal)
            result[missing] = given
        return result

    def get_many(self, accounts: U64) -> I64:
        """Ordinals of ``accounts`` (-1 where absent), same order, vectorised."""
        result = self._base_ordinals(hash_ids(accounts))
        if self._delta_ids:
            missing = np.flatnonzero(result < 0)
            if len(missing):
                result[missing] = self._delta_ordinals(accounts[missing])
        return result

    def _base_ordinals(self, queries: U64) -> I64:
        """Positions of hashed ``queries`` in the base, -1 where absent.

        A branchless binary search inside each query's bucket, all queries in step:
        ``_search_steps`` rounds of a few whole-array operations, no Python loop per id.
        """
        keys = self._keys
        if not len(keys):
            return np.full(len(queries), -1, dtype=np.int64)
        buckets = (queries >> np.uint64(self._shift)).astype(np.intp)
        base = self._offsets[buckets].astype(np.intp)
        length = self._offsets[buckets + 1].astype(np.intp)
        length -= base
        # Only an empty bucket after the last key starts at len(keys); it holds nothing.
        np.minimum(base, len(keys) - 1, out=base)
        for _ in range(self._search_steps):
            # Narrow [base, base + length) to the last key <= the query (or its start).
            half = length >> 1
            probe = base + half
            np.copyto(base, probe, where=keys[probe] <= queries)
            length -= half
        # Keys of other buckets differ from the query in the bucket bits: never equal.
        return np.where(keys[base] == queries, base, -1)

    def _delta_ordinals(self, accounts: U64) -> I64:
        """Ordinals of ``accounts`` in the delta, -1 where absent, vectorised.

        Searches a bucketed copy of the delta (laid out like the base), brought up to date
        by merging in the ids added since: at once while the delta is small, later once it is
        large; until then the newer ids are sorted and searched per call.
        """
        count = len(self._delta_ids)
        known = len(self._sorted_delta_ordinals)
        # A merge costs O(delta), sorting the tail O(tail) per call: let the tail grow with the
        # copy (measured with a 2.5M delta: a 52 ms merge per 39k new ids, 3 ms per call with a
        # 39k tail, 0.4 ms with none; the first copy of a 2.5M delta took 0.44 s).
        tail_limit = max(_DELTA_TAIL, known // 64)
        if count > known and (known <= _DELTA_MERGE_ALWAYS or count - known > tail_limit):
            self._merge_delta(known, count)
            known = count
        assert self._sorted_delta is not None  # merged above: the delta is not empty
        positions = self._sorted_delta._base_ordinals(hash_ids(accounts))
        result = np.where(
            positions >= 0, self._sorted_delta_ordinals[positions].astype(np.int64), -1
        )
        if known < count:
            tail = np.array(self._delta_ids[known:count], dtype=np.uint64)
            order = np.argsort(tail)
            tail = tail[order]
            at = np.minimum(np.searchsorted(tail, accounts), len(tail) - 1)
            found = tail[at] == accounts
            result[found] = order[at[found]] + (len(self._keys) + known)
        return result

    def _merge_delta(self, known: int, count: int) -> None:
        merged = self._sorted_delta
        hashes = np.concatenate(
            [
                merged.base_hashes if merged is not None else np.zeros(0, dtype=np.uint64),
                hash_ids(np.array(self._delta_ids[known:count], dtype=np.uint64)),
            ]
        )
        first = len(self._keys)
        ordinals = np.concatenate(
            [
                self._sorted_delta_ordinals,
                np.arange(first + known, first + count, dtype=np.uint32),
            ]
        )
        order = np.argsort(hashes, kind="stable")  # two sorted runs: one merge pass
        self._sorted_delta = OrdinalMap(hashes[order])
        self._sorted_delta_ordinals = ordinals[order]

    def ids_of(self, ordinals: U32) -> U64:
        """Account ids of valid ``ordinals`` (vectorised)."""
        ordinals = np.asarray(ordinals)
        base = len(self._keys)
        in_base = ordinals < base
        if in_base.all():
            return unhash(self._keys[ordinals])
        ids = np.empty(len(ordinals), dtype=np.uint64)
        ids[in_base] = unhash(self._keys[ordinals[in_base]])
        delta = self.delta_ids()
        ids[~in_base] = delta[ordinals[~in_base].astype(np.intp) - base]
        return ids

    def hashes_of(self, ordinals: U32) -> U64:
        """Hashes of the ids behind valid ``ordinals`` (vectorised)."""
        ordinals = np.asarray(ordinals)
        base = len(self._keys)
        in_base = ordinals < base
        if in_base.all():
            return self._keys[ordinals]
        hashes = np.empty(len(ordinals), dtype=np.uint64)
        hashes[in_base] = self._keys[ordinals[in_base]]
        delta = hash_ids(self.delta_ids())
        hashes[~in_base] = delta[ordinals[~in_base].astype(np.intp) - base]
        return hashes

    def memory_bytes(self) -> int:
        """Bytes held: numpy buffers plus the delta (its map and array), and the batch
        lookups' bucketed copy of the delta."""
        total = self._keys.nbytes + self._offsets.nbytes
        if self._sorted_delta is not None:
            total += self._sorted_delta.memory_bytes() + self._sorted_delta_ordinals.nbytes
        total += sys.getsizeof(self._delta) + sys.getsizeof(self._delta_ids)
        if isinstance(self._delta, dict) and self._delta:
            # Each entry owns an id int object and (past the small-int cache) an ordinal int.
            total += len(self._delta) * (sys.getsizeof(1 << 62) + sys.getsizeof(1 << 30))
        return total

    def compacted(self, live: U32, delta_ids: U64 | None = None) -> tuple[OrdinalMap, U32]:
        """A map of only the ``live`` ordinals (sorted), all in a new base.

        Returns the new map and ``remap``: old ordinal -> new ordinal for every live
        ordinal (dead ones map to 0 and must not be looked up). Two sorted runs (the
        surviving base, the sorted delta) are merged in O(n) instead of re-sorting.
        ``delta_ids`` is a copy of the delta taken earlier (:meth:`delta_ids`): with it, this
        reads nothing that changes, so it may run on another thread while ids are added.
        """
        if delta_ids is None:
            delta_ids = self.delta_ids()
        live = np.asarray(live, dtype=np.uint32)
        base = len(self._keys)
        split = int(np.searchsorted(live, base))
        live_base = live[:split]
        live_delta = live[split:].astype(np.intp) - base
        base_hashes = self._keys[live_base]
        delta_hashes = hash_ids(delta_ids[live_delta])
        delta_order = np.argsort(delta_hashes)
        delta_hashes = delta_hashes[delta_order]
        # Base and delta ids are disjoint, so each delta hash lands between base hashes.
        delta_positions = np.searchsorted(base_hashes, delta_hashes) + np.arange(len(delta_hashes))
        merged_size = len(base_hashes) + len(delta_hashes)
        from_delta = np.zeros(merged_size, dtype=bool)
        from_delta[delta_positions] = True
        base_positions = np.flatnonzero(~from_delta)
        merged = np.empty(merged_size, dtype=np.uint64)
        merged[delta_positions] = delta_hashes
        merged[base_positions] = base_hashes
        remap = np.zeros(base + len(delta_ids), dtype=np.uint32)
        remap[live_base] = base_positions
        remap[live_delta[delta_order] + base] = delta_positions
        return OrdinalMap(merged), remap
