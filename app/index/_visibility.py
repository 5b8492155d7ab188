"""Which (account, country) pairs are withheld: one Roaring bitmap of ordinals per country."""

from __future__ import annotations

import importlib
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from itertools import groupby, repeat
from operator import itemgetter
from typing import Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray
from pyroaring import BitMap, FrozenBitMap

from app.index import _snapshot
from app.index._compiled import IndexProbe
from app.index._country_codes import ALL_COUNTRIES, check_country_code, encode_countries
from app.index._ordinals import GOLDEN, MAX_ID, MIN_ID, NOT_AN_ACCOUNT, U32, U64, OrdinalMap

_GOLDEN: Final = np.uint64(GOLDEN)
DEFAULT_MIN_DELTA: Final = 65536
"""The delta may always grow to this many ids before a compaction..."""
DEFAULT_DELTA_FRACTION: Final = 16
"""...or to a sixteenth of the base, whichever is larger. A delta id costs about four base pairs
(in ``DeltaMap`` and the array of delta ids; some twenty as a dict, without the compiled module),
so the delta must stay a small fraction of the base for the index to stay within its memory
budget; a sixteenth trades that against how often a compaction runs (the figures:
``docs/performance.md``, "Index memory and compaction")."""

# What a country nobody is withheld in has (never modified).
_NO_BITMAP: Final = FrozenBitMap()
# Ordinals per pyroaring call when a bitmap is built from an array or read into one.
_CHUNK: Final = 1 << 18

# Rough CRoaring bookkeeping per container (key, type code, pointer, container struct
# and allocator headers) and per bitmap, on top of the container payloads.
_CONTAINER_OVERHEAD: Final = 48
_BITMAP_OVERHEAD: Final = 64

if array("I").itemsize != 4:  # pragma: no cover - every platform we run on
    raise ImportError("array('I') must hold 32-bit items")

# numpy asks the kernel for transparent huge pages on every large array. On a fresh process
# (a cold start) faulting in 2 MB pages was slower here than 4 kB ones: building 10M pairs took
# 1.6-1.8 s with them and 1.4 s without. Lookups want them (fewer TLB misses: batches were 20%
# slower without), so the build's temporaries do without and the kept arrays are copied back.
_set_madvise_hugepage: Callable[[bool], bool] | None = getattr(
    importlib.import_module("numpy._core.multiarray"), "_set_madvise_hugepage", None
)


@contextmanager
def _small_pages() -> Iterator[None]:
    """numpy's huge-page advice off inside (process-wide; it only changes how pages fault in)."""
    if _set_madvise_hugepage is None:  # pragma: no cover - a numpy without the switch
        yield
        return
    previous = _set_madvise_hugepage(False)
    try:
        yield
    finally:
        _set_madvise_hugepage(previous)


def _bitmap_of(ordinals: U32) -> BitMap:
    """A bitmap from a uint32 array (fastest when sorted), without a per-item loop.

    Built a chunk at a time: each pyroaring call holds the GIL throughout, and a compaction
    builds its bitmaps on a thread beside the event loop. Chunked is also faster than one
    call over the whole array (``docs/performance.md``)."""
    contiguous = np.ascontiguousarray(ordinals, dtype=np.uint32)
    bitmap = BitMap()
    for start in range(0, len(contiguous), _CHUNK):
        bitmap.update(array("I", contiguous[start : start + _CHUNK].tobytes()))
    bitmap.shrink_to_fit()
    return bitmap


def _as_array(ordinals: NDArray[Any]) -> array[int]:
    """Ordinals as pyroaring takes them fastest: an ``array('I')`` (read through its buffer)."""
    return array("I", ordinals.astype(np.uint32).tobytes())


def _by_country(countries: list[str], ordinals: NDArray[Any]) -> Iterator[tuple[str, NDArray[Any]]]:
    """``ordinals`` grouped by the country at the same position (in a slice of changes,
    nearly always one)."""
    first = countries[0]
    if countries.count(first) == len(countries):
        yield first, ordinals
        return
    names, positions = np.unique(np.array(countries), return_inverse=True)
    for at, name in enumerate(names.tolist()):
        yield name, ordinals[positions == at]


def _ordinals_in(bitmap: BitMap) -> U32:
    """``bitmap``'s ordinals, ascending. A large one is read a range of ordinals at a time into
    one buffer: one ``to_array`` over millions holds the GIL throughout, and a compaction's
    thread held the event loop for 70 ms in it at 10M pairs (``docs/performance.md``)."""
    if len(bitmap) <= _CHUNK:
        return np.frombuffer(bitmap.to_array(), dtype=np.uint32)
    ordinals = np.empty(len(bitmap), dtype=np.uint32)
    filled = 0
    for low in range(0, bitmap.max() + 1, _CHUNK):
        part = (bitmap & BitMap(range(low, low + _CHUNK))).to_array()
        ordinals[filled : filled + len(part)] = np.frombuffer(part, dtype=np.uint32)
        filled += len(part)
    return ordinals


def _bitmap_bytes(bitmap: BitMap) -> int:
    stats = bitmap.get_statistics()
    return (
        _BITMAP_OVERHEAD
        + stats["n_bytes_array_containers"]
        + stats["n_bytes_run_containers"]
        + stats["n_bytes_bitset_containers"]
        + stats["n_containers"] * _CONTAINER_OVERHEAD
    )


def _as_ids(accounts: NDArray[Any]) -> U64:
    """A 1-D uint64 view or copy of an integer array (negatives wrap out of range)."""
    ids = np.asarray(accounts)
    if ids.ndim != 1:
        raise ValueError("accounts must be a 1-D array")
    if ids.dtype.kind not in "ui":
        raise TypeError(f"accounts must be an integer array, not {ids.dtype}")
    return ids.astype(np.uint64, copy=False)


Compacted = tuple[OrdinalMap, dict[str, BitMap]]


class DecimalProbe(Protocol):
    """A single lookup by an account's decimal digits (``VisibilityIndex.probe``)."""

    def withheld_decimal(self, digits: bytes, country: str, /) -> bool | None: ...


class PythonProbe:
    """The twin of the compiled ``IndexProbe`` (``_probe.c``) where it was not built: the
    same answers, read from the same structures."""

    __slots__ = ("_bitmaps", "_ordinals")

    def __init__(self, ordinals: OrdinalMap, bitmaps: dict[str, BitMap]) -> None:
        self._ordinals = ordinals
        self._bitmaps = bitmaps

    def withheld_decimal(self, digits: bytes, country: str) -> bool | None:
        """See :meth:`VisibilityIndex.withheld_decimal`."""
        ordinals = self._ordinals
        ordinal = ordinals.base_ordinal_of_decimal(digits)
        if ordinal < 0:
            if ordinal == NOT_AN_ACCOUNT:
                return None
            ordinal = ordinals.delta_ordinal(digits)
            if ordinal < 0:
                return False
        bitmaps = self._bitmaps
        return ordinal in bitmaps.get(country, _NO_BITMAP) or ordinal in bitmaps[ALL_COUNTRIES]


def _probe_of(ordinals: OrdinalMap, bitmaps: dict[str, BitMap]) -> DecimalProbe:
    delta = ordinals.delta
    if IndexProbe is not None and ordinals.base_probe is not None and not isinstance(delta, dict):
        return IndexProbe(ordinals.base_probe, delta, bitmaps, ALL_COUNTRIES)
    return PythonProbe(ordinals, bitmaps)


def _compacted(ordinals: OrdinalMap, delta_ids: U64, bitmaps: dict[str, BitMap]) -> Compacted:
    """A new ordinal map of only the ids that still have a pair, and the bitmaps remapped to
    it. Reads ``ordinals``' base (immutable), ``delta_ids`` and ``bitmaps``, changes none."""
    base_size = ordinals.base_size
    live = BitMap.union(BitMap(), *bitmaps.values())
    compacted_ordinals, remap = ordinals.compacted(_ordinals_in(live), delta_ids)
    compacted: dict[str, BitMap] = {}
    for code, bitmap in bitmaps.items():
        if not bitmap and code != ALL_COUNTRIES:
            continue
        old = _ordinals_in(bitmap)
        # Surviving base ordinals keep their order, so they remap to a sorted run;
        # only the (small) delta part interleaves and needs sorting.
        split = int(np.searchsorted(old, base_size))
        remapped = _bitmap_of(remap[old[:split]])
        if split < len(old):
            from_delta = remap[old[split:]]
            from_delta.sort()
            remapped = remapped | _bitmap_of(from_delta)
            remapped.shrink_to_fit()
        compacted[code] = remapped
    return compacted_ordinals, compacted


def _built(ids: U64, codes: NDArray[Any], names: list[str]) -> tuple[U64, dict[str, BitMap]]:
    """The sorted unique hashes of ``ids`` and one bitmap of ordinals per country code."""
    # numpy sorts (SIMD) ~7x faster than it argsorts, and a stable argsort of a few sorted
    # runs is one merge: so sort each country's hashes, then merge the runs. 10M pairs on
    # one core: 0.7 s, where one argsort of all hashes took 2 s.
    # At 10M pairs each temporary is 80 MB of fresh pages (slow to fault in on a VM), so
    # buffers are reused where numpy allows.
    by_country = np.argsort(codes, kind="stable")
    grouped = ids[by_country]
    np.multiply(grouped, _GOLDEN, out=grouped)  # hash_ids, in place
    ends = np.cumsum(np.bincount(codes, minlength=len(names))).tolist()
    starts = [0, *ends[:-1]]
    for start, end in zip(starts, ends, strict=True):
        grouped[start:end].sort()
    order = np.argsort(grouped, kind="stable")
    hashes = np.take(grouped, order, out=by_country.view(np.uint64))
    del grouped
    first = np.empty(len(hashes), dtype=bool)
    first[0] = True
    np.not_equal(hashes[1:], hashes[:-1], out=first[1:])
    ordinal_in_order = np.cumsum(first, dtype=np.uint32)
    ordinal_in_order -= 1
    # Back in country groups; hashes ascend in each group, so each one's ordinals ascend
    # too (duplicates repeat one), which is what builds a bitmap fastest.
    ordinal_of_pair = np.empty_like(ordinal_in_order)
    ordinal_of_pair[order] = ordinal_in_order
    bitmaps: dict[str, BitMap] = {}
    for name, start, end in zip(names, starts, ends, strict=True):
        bitmaps[name] = _bitmap_of(ordinal_of_pair[start:end])
    return (hashes if bool(first.all()) else hashes[first]), bitmaps


class VisibilityIndex:
    """In-memory answer to "is account A withheld in country C?".

    A lookup is ``A in bitmap[C] or A in bitmap["XX"]`` over dense ordinals that an
    :class:`~app.index._ordinals.OrdinalMap` gives to the sparse 64-bit account ids.
    Ids first seen after the bulk build go to the ordinal map's delta; when the delta
    outgrows ``compact_threshold`` (default: max(65536, base / 16)) the index compacts:
    it rebuilds the base from every id that still has a pair and remaps the bitmaps.

    Not thread-safe by design; see the package docstring.
    """

    __slots__ = (
        "_bitmaps",
        "_compact_threshold",
        "_journal",
        "_ordinals",
        "defer_compaction",
        "probe",
    )

    def __init__(self, *, compact_threshold: int | None = None) -> None:
        """An empty index; ``compact_threshold`` fixes the delta size that compacts."""
        if compact_threshold is not None and compact_threshold < 0:
            raise ValueError("compact_threshold must be >= 0")
        self._compact_threshold = compact_threshold
        self._ordinals: OrdinalMap
        self._bitmaps: dict[str, BitMap]
        self.probe: DecimalProbe
        """Single lookups by decimal digits over the current structures (compiled when
        ``COMPILED_PROBE``); replaced whenever they are (a build, a compaction)."""
        self._adopt(OrdinalMap(), {ALL_COUNTRIES: BitMap()})
        # Updates made while a background compaction runs: (added, account, country).
        self._journal: list[tuple[bool, int, str]] | None = None
        self.defer_compaction = False
        """True: ``add`` never compacts; the owner watches :meth:`compaction_due` and
        compacts off the event loop (:meth:`begin_compaction`)."""

    # -- building ---------------------------------------------------------------

    @classmethod
    def from_pairs(
        cls, pairs: Iterable[tuple[int, str]], *, compact_threshold: int | None = None
    ) -> VisibilityIndex:
        """Bulk-build from (account, country) pairs; duplicates are fine."""
        accounts: list[int] = []
        countries: list[str] = []
        for account, country in pairs:
            accounts.append(account)
            countries.append(country)
        try:
            account_array = np.array(accounts, dtype=np.uint64)
        except OverflowError as error:
            raise ValueError("account ids must be in 1..2**63-1") from error
        return cls.from_arrays(
            account_array,
            np.array(countries, dtype=np.str_) if countries else np.zeros(0, dtype="S2"),
            compact_threshold=compact_threshold,
        )

    @classmethod
    def from_arrays(
        cls,
        accounts: NDArray[Any],
        countries: NDArray[Any],
        *,
        compact_threshold: int | None = None,
    ) -> VisibilityIndex:
        """Bulk-build, vectorised, from parallel arrays (duplicate pairs are fine).

        ``accounts`` is a 1-D uint64 or int64 array; ``countries`` holds the codes as
        ``S2`` or ``<U2``. Raises ``ValueError`` on ids outside 1..2**63-1 or bad codes.
        """
        raw = np.asarray(accounts)
        ids = _as_ids(raw)
        index = cls(compact_threshold=compact_threshold)
        with _small_pages():
            names, codes = encode_countries(countries)
            if len(ids) != len(codes):
                raise ValueError("accounts and countries differ in length")
            if not len(ids):
                return index
            low = int(raw.min())
            if low < MIN_ID or int(ids.max()) > MAX_ID:
                raise ValueError("account ids must be in 1..2**63-1")
            unique_hashes, bitmaps = _built(ids, codes, names)
        # A copy made with huge pages on: the kept keys back every lookup.
        index._adopt(OrdinalMap(unique_hashes.copy()), {**index._bitmaps, **bitmaps})
        return index

    @classmethod
    def from_bytes(cls, data: bytes, *, compact_threshold: int | None = None) -> VisibilityIndex:
        """Load a :meth:`to_bytes` snapshot; ``ValueError`` if it is malformed."""
        index = cls(compact_threshold=compact_threshold)
        ordinals, bitmaps = _snapshot.decode(data)
        bitmaps.setdefault(ALL_COUNTRIES, BitMap())
        index._adopt(ordinals, bitmaps)
        return index

    def _adopt(self, ordinals: OrdinalMap, bitmaps: dict[str, BitMap]) -> None:
        """Make these the index's structures (one swap: readers see old or new, whole)."""
        self._ordinals, self._bitmaps, self.probe = ordinals, bitmaps, _probe_of(ordinals, bitmaps)

    def to_bytes(self) -> bytes:
        """A versioned snapshot of every pair (see :mod:`app.index._snapshot`)."""
        return _snapshot.encode(self._ordinals, self._bitmaps)

    def snapshot_later(self) -> Callable[[], memoryview]:
        """:meth:`to_bytes` in two steps: what it reads, copied now (the bitmaps and the delta:
        short), and the encoding of the copies, returned to run on another thread while the
        index goes on changing."""
        ordinals = self._ordinals
        bitmaps = {code: bitmap.copy() for code, bitmap in self._bitmaps.items()}
        return partial(_snapshot.encode_parts, ordinals.base_hashes, ordinals.delta_ids(), bitmaps)

    # -- the hot path -----------------------------------------------------------

    def is_withheld(self, account: int, country: str) -> bool:
        """True if ``account`` is withheld in ``country`` or everywhere (``XX``)."""
        ordinal = self._ordinals.get(account)
        bitmaps = self._bitmaps
        return ordinal >= 0 and (
            ordinal in bitmaps.get(country, _NO_BITMAP) or ordinal in bitmaps[ALL_COUNTRIES]
        )

    def withheld_decimal(self, digits: bytes, country: str) -> bool | None:
        """:meth:`is_withheld` for an account written in decimal, as a query string has it;
        None when ``digits`` is not an account id (1..2**63-1, canonical: no sign, no
        leading zero). One compiled call when ``COMPILED_PROBE`` (see :attr:`probe`)."""
        return self.probe.withheld_decimal(digits, country)

    def withheld_many(self, accounts: NDArray[Any], country: str) -> NDArray[np.bool_]:
        """:meth:`is_withheld` for every id of a 1-D integer array, vectorised."""
        ordinals = self._ordinals.get_many(_as_ids(accounts))
        result = np.zeros(len(ordinals), dtype=bool)
        known = np.flatnonzero(ordinals >= 0)
        if not len(known):
            return result
        asked = ordinals[known].astype(np.uint32)
        # Sorted, the asked ordinals build a bitmap ~9x faster and are found among the hits
        # ~6x faster than in request order.
        order = np.argsort(asked)
        asked = asked[order]
        # pyroaring has no vectorised membership test; intersecting with a bitmap
        # of the asked ordinals does the work in C.
        wanted = _bitmap_of(asked)
        hits = wanted & self._bitmaps[ALL_COUNTRIES]
        bitmap = self._bitmaps.get(country)
        if bitmap is not None:
            hits = hits | (wanted & bitmap)
        if not hits:
            return result
        hit_ordinals = _ordinals_in(hits)
        at = np.searchsorted(hit_ordinals, asked)
        np.minimum(at, len(hit_ordinals) - 1, out=at)
        result[known[order]] = hit_ordinals[at] == asked
        return result

    # -- updates ----------------------------------------------------------------

    def add(self, account: int, country: str) -> bool:
        """Withhold ``account`` in ``country``; True if the pair was new."""
        if not MIN_ID <= account <= MAX_ID:
            raise ValueError(f"account id out of range: {account}")
        bitmap = self._bitmaps.get(country)
        if bitmap is None:
            bitmap = self._bitmaps[check_country_code(country)] = BitMap()
        ordinals = self._ordinals
        ordinal = ordinals.get_or_add(account)
        if ordinal in bitmap:
            return False
        bitmap.add(ordinal)
        if self._journal is not None:
            self._journal.append((True, account, country))
        elif not self.defer_compaction and ordinals.delta_size > self._delta_limit():
            self.compact()
        return True

    def discard(self, account: int, country: str) -> bool:
        """Lift ``account``'s withholding in ``country``; True if the pair was present."""
        bitmap = self._bitmaps.get(country)
        if bitmap is None:
            return False
        ordinal = self._ordinals.get(account)
        if ordinal < 0 or ordinal not in bitmap:
            return False
        bitmap.discard(ordinal)
        if self._journal is not None:
            self._journal.append((False, account, country))
        return True

    def add_batch(self, accounts: list[int], countries: list[str]) -> None:
        """``add`` each (account, country) pair, in order; checked before any is added.

        For a slice of changes on the event loop: ordinals found a slice at a time and each
        country's bitmap updated in one call cost a fraction of a call per pair."""
        if not accounts:
            return
        if len(accounts) != len(countries):
            raise ValueError("accounts and countries differ in length")
        if min(accounts) < MIN_ID or max(accounts) > MAX_ID:
            raise ValueError("account ids must be in 1..2**63-1")
        bitmaps = self._bitmaps
        unseen = [check_country_code(country) for country in set(countries) - bitmaps.keys()]
        bitmaps.update((country, BitMap()) for country in unseen)
        ordinals = self._ordinals.get_or_add_batch(accounts)
        for country, of_country in _by_country(countries, ordinals):
            bitmaps[country].update(_as_array(of_country))
        if self._journal is not None:
            self._journal.extend(zip(repeat(True), accounts, countries, strict=False))
        elif not self.defer_compaction and self._ordinals.delta_size > self._delta_limit():
            self.compact()

    def discard_batch(self, accounts: list[int], countries: list[str]) -> None:
        """``discard`` each (account, country) pair, as :meth:`add_batch` adds them."""
        if not accounts:
            return
        if len(accounts) != len(countries):
            raise ValueError("accounts and countries differ in length")
        if min(accounts) < MIN_ID or max(accounts) > MAX_ID:  # none of them can be present
            kept = [i for i, account in enumerate(accounts) if MIN_ID <= account <= MAX_ID]
            accounts, countries = [accounts[i] for i in kept], [countries[i] for i in kept]
            if not accounts:
                return
        ordinals = self._ordinals.get_batch(accounts)
        for country, of_country in _by_country(countries, ordinals):
            bitmap = self._bitmaps.get(country)
            if bitmap is not None:
                bitmap.difference_update(BitMap(_as_array(of_country[of_country >= 0])))
        if self._journal is not None:
            self._journal.extend(zip(repeat(False), accounts, countries, strict=False))

    def compact(self) -> None:
        """Fold the delta into a new base of only the ids that still have a pair.

        Builds new structures, then swaps them in with one assignment, so the index is
        whole at every point a reader on the event loop could look at it.
        """
        if self._journal is not None:
            raise RuntimeError("a background compaction is running")
        ordinals = self._ordinals
        self._adopt(*_compacted(ordinals, ordinals.delta_ids(), self._bitmaps))

    # -- compacting off the event loop ------------------------------------------

    def compaction_due(self) -> bool:
        """The delta has outgrown its limit and no background compaction is running."""
        return self._journal is None and self._ordinals.delta_size > self._delta_limit()

    def begin_compaction(self) -> Callable[[], Compacted]:
        """Start a compaction whose heavy part may run on another thread.

        Returns that part: it works on copies taken here (the delta ids, every bitmap; a few
        ms at 10M pairs) and on the base arrays, which never change, so it reads nothing an
        update touches. Until :meth:`finish_compaction` takes its result, every update is
        applied as usual *and* journaled, to be replayed onto the compacted structures.
        """
        if self._journal is not None:
            raise RuntimeError("a background compaction is running")
        ordinals = self._ordinals
        delta_ids = ordinals.delta_ids()
        bitmaps = {code: bitmap.copy() for code, bitmap in self._bitmaps.items()}
        self._journal = []
        return partial(_compacted, ordinals, delta_ids, bitmaps)

    def finish_compaction(self, compacted: Compacted) -> OrdinalMap:
        """Swap in the compacted structures, then replay the updates made meanwhile.

        Returns the replaced ordinal map, no longer read, for the caller to free a slice at a
        time (:meth:`OrdinalMap.forget_delta`)."""
        journal, self._journal = self._journal, None
        if journal is None:
            raise RuntimeError("no background compaction to finish")
        retired = self._ordinals
        self._adopt(*compacted)
        # In runs of adds and of discards: within a run, order does not matter.
        for added, run in groupby(journal, key=itemgetter(0)):
            pairs = list(run)
            accounts = [account for _, account, _ in pairs]
            countries = [country for _, _, country in pairs]
            if added:
                self.add_batch(accounts, countries)
            else:
                self.discard_batch(accounts, countries)
        return retired

    def abandon_compaction(self) -> None:
        """Forget a background compaction that failed; the index never stopped being whole."""
        self._journal = None

    def _delta_limit(self) -> int:
        if self._compact_threshold is not None:
            return self._compact_threshold
        return max(DEFAULT_MIN_DELTA, self._ordinals.base_size // DEFAULT_DELTA_FRACTION)

    # -- reading everything -----------------------------------------------------

    def countries_of(self, account: int) -> list[str]:
        """Sorted codes ``account`` is withheld in, ``XX`` included."""
        ordinal = self._ordinals.get(account)
        if ordinal < 0:
            return []
        return sorted(code for code, bitmap in self._bitmaps.items() if ordinal in bitmap)

    def pairs(self) -> Iterator[tuple[int, str]]:
        """Every (account, country) pair, grouped by country."""
        ordinals, bitmaps = self._ordinals, self._bitmaps
        for code in sorted(bitmaps):
            bitmap = bitmaps[code]
            if bitmap:
                for account in ordinals.ids_of(_ordinals_in(bitmap)).tolist():
                    yield account, code

    def country_sizes(self) -> dict[str, int]:
        """Number of pairs per country code, for the non-empty ones."""
        return {code: len(bitmap) for code, bitmap in sorted(self._bitmaps.items()) if bitmap}

    def accounts_count(self) -> int:
        """Number of distinct accounts with at least one pair."""
        return len(BitMap.union(BitMap(), *self._bitmaps.values()))

    def memory_bytes(self) -> int:
        """Estimated bytes held: numpy buffers, bitmap containers, the delta."""
        return (
            self._ordinals.memory_bytes()
            + sys.getsizeof(self._bitmaps)
            + sum(_bitmap_bytes(bitmap) for bitmap in self._bitmaps.values())
        )

    def __len__(self) -> int:
        return sum(len(bitmap) for bitmap in self._bitmaps.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VisibilityIndex):
            return NotImplemented
        if self.country_sizes() != other.country_sizes():
            return False
        # Ordinals differ between layouts; compare the sorted hashes of each country's ids.
        for code in self.country_sizes():
            mine = self._ordinals.hashes_of(_ordinals_in(self._bitmaps[code]))
            theirs = other._ordinals.hashes_of(_ordinals_in(other._bitmaps[code]))
            if not np.array_equal(np.sort(mine), np.sort(theirs)):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"<VisibilityIndex pairs={len(self)} base={self._ordinals.base_size}"
            f" delta={self._ordinals.delta_size}>"
        )
