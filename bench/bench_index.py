"""Benchmark the visibility index against a Python ``set`` and pyroaring ``BitMap64``.

    python -m bench.bench_index --pairs 1000000 [--json figures.json]
    python bench/bench_index.py --pairs 10000000 --skip-baselines-above 5000000

Data: random snowflake-like account ids (41-bit millisecond timestamp, 22 random low
bits; about 10**17..1.8*10**18), N distinct (account, country) pairs over 8 countries
plus ``XX``, a fifth of the accounts withheld in two countries. Every structure is built
and measured in its own subprocess from the same seeded data, so resident-memory deltas
do not share an allocator. Figures per structure:

* build: seconds from the numpy arrays;
* hit / miss: median ns per ``is_withheld``-style call over repeated loops of 1,000
  queries (the loop's own ~25 ns included, for every structure alike); a hit is a
  withheld pair (a third of them via ``XX``), a miss is half unknown accounts, half
  known accounts asked about a country they are not withheld in;
* batch: median ms to answer 10,000 ids (half withheld) in one country;
* bytes per pair: resident-memory delta (RSS, after ``malloc_trim``) for all;
  ``tracemalloc`` for the set and ours (it cannot see CRoaring's C heap, so for ours it
  counts the numpy arrays and the delta only); ``memory_bytes()`` for ours.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import timeit
import tracemalloc
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pyroaring import BitMap64

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.index import ALL_COUNTRIES, VisibilityIndex

COUNTRIES = ["BR", "DE", "FR", "IN", "JP", "RU", "TR", "US", ALL_COUNTRIES]
REAL_COUNTRIES = COUNTRIES[:-1]
BATCH_COUNTRY = "IN"
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
QUERIES = 1_000
BATCH = 10_000
STRUCTURES = ["index", "set", "bitmap64"]
LABELS = {
    "index": "VisibilityIndex",
    "set": "set per country",
    "bitmap64": "BitMap64 per country",
}

Lookup = Callable[[int, str], bool]
U64 = NDArray[np.uint64]


@dataclass(frozen=True)
class Workload:
    accounts: U64
    countries: NDArray[np.bytes_]
    hits: list[tuple[int, str]]
    misses: list[tuple[int, str]]
    batch: U64
    batch_expected: NDArray[np.bool_]


def snowflakes(rng: np.random.Generator, count: int) -> U64:
    """Distinct snowflake-like ids from 2012 to 2025."""
    start = (1_325_376_000_000 - SNOWFLAKE_EPOCH_MS) << 22
    end = (1_735_689_600_000 - SNOWFLAKE_EPOCH_MS) << 22
    ids = np.unique(rng.integers(start, end, size=count + count // 100 + 16, dtype=np.uint64))
    return rng.permutation(ids)[:count]


def make_workload(pairs: int, seed: int) -> Workload:
    """``pairs`` distinct pairs; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n_accounts = -(-pairs * 5 // 6)  # a fifth of the accounts get a second country
    second = pairs - n_accounts
    ids = snowflakes(rng, n_accounts + QUERIES + BATCH)
    accounts, unknown = ids[:n_accounts], ids[n_accounts:]
    first_country = rng.integers(0, len(COUNTRIES), size=n_accounts)
    other_country = (first_country[:second] + rng.integers(1, len(COUNTRIES), size=second)) % len(
        COUNTRIES
    )
    account_column = np.concatenate([accounts, accounts[:second]])
    code_column = np.concatenate([first_country, other_country])
    codes = np.array(COUNTRIES, dtype="S2")
    order = rng.permutation(pairs)
    account_column, code_column = account_column[order], code_column[order]

    xx = len(COUNTRIES) - 1
    countries_of: dict[int, set[int]] = {}
    picked = rng.integers(0, pairs, size=QUERIES * 4)
    for account, code in zip(
        account_column[picked].tolist(), code_column[picked].tolist(), strict=True
    ):
        countries_of.setdefault(account, set()).add(code)
    # Complete the sets of the sampled accounts so a miss is a real miss.
    sampled = np.array(sorted(countries_of), dtype=np.uint64)
    mask = np.isin(account_column, sampled)
    for account, code in zip(
        account_column[mask].tolist(), code_column[mask].tolist(), strict=True
    ):
        countries_of[account].add(code)

    hits: list[tuple[int, str]] = []
    known_misses: list[tuple[int, str]] = []
    for account, held in countries_of.items():
        if xx in held:
            if len(hits) < QUERIES:
                hits.append((account, REAL_COUNTRIES[int(rng.integers(0, 8))]))
            continue
        for code in held:
            if len(hits) < QUERIES:
                hits.append((account, COUNTRIES[code]))
        free = [c for c in range(len(REAL_COUNTRIES)) if c not in held]
        if len(known_misses) < QUERIES // 2:
            known_misses.append((account, COUNTRIES[free[int(rng.integers(0, len(free)))]]))
    unknown_misses = [
        (account, REAL_COUNTRIES[i % 8])
        for i, account in enumerate(unknown[: QUERIES // 2].tolist())
    ]
    misses = known_misses + unknown_misses
    rng.shuffle(hits)
    rng.shuffle(misses)

    in_batch_country = (code_column == COUNTRIES.index(BATCH_COUNTRY)) | (code_column == xx)
    withheld = account_column[in_batch_country]
    batch = np.concatenate(
        [withheld[rng.integers(0, len(withheld), size=BATCH // 2)], unknown[-(BATCH // 2) :]]
    )
    expected = np.concatenate([np.ones(BATCH // 2, bool), np.zeros(BATCH // 2, bool)])
    shuffle = rng.permutation(BATCH)
    return Workload(
        accounts=account_column,
        countries=codes[code_column],
        hits=hits[:QUERIES],
        misses=misses[:QUERIES],
        batch=batch[shuffle],
        batch_expected=expected[shuffle],
    )


# -- the structures ------------------------------------------------------------------------


def build_index(work: Workload) -> tuple[Any, Lookup, Callable[[U64], NDArray[np.bool_]]]:
    index = VisibilityIndex.from_arrays(work.accounts, work.countries)

    def batch(ids: U64) -> NDArray[np.bool_]:
        return index.withheld_many(ids, BATCH_COUNTRY)

    return index, index.is_withheld, batch


def build_set(work: Workload) -> tuple[Any, Lookup, Callable[[U64], NDArray[np.bool_]]]:
    sets: dict[str, set[int]] = {}
    for code in COUNTRIES:
        sets[code] = set(work.accounts[work.countries == code.encode()].tolist())
    everywhere = sets[ALL_COUNTRIES]
    nothing: set[int] = set()

    def lookup(account: int, country: str) -> bool:
        return account in sets.get(country, nothing) or account in everywhere

    def batch(ids: U64) -> NDArray[np.bool_]:
        held = sets.get(BATCH_COUNTRY, nothing)
        return np.fromiter(
            (a in held or a in everywhere for a in ids.tolist()), dtype=bool, count=len(ids)
        )

    return sets, lookup, batch


def build_bitmap64(work: Workload) -> tuple[Any, Lookup, Callable[[U64], NDArray[np.bool_]]]:
    bitmaps: dict[str, BitMap64] = {}
    for code in COUNTRIES:
        chosen = work.accounts[work.countries == code.encode()]
        bitmaps[code] = BitMap64(array("Q", chosen.tobytes()))
    everywhere = bitmaps[ALL_COUNTRIES]
    nothing = BitMap64()

    def lookup(account: int, country: str) -> bool:
        return account in bitmaps.get(country, nothing) or account in everywhere

    def batch(ids: U64) -> NDArray[np.bool_]:
        held = bitmaps.get(BATCH_COUNTRY, nothing)
        return np.fromiter(
            (a in held or a in everywhere for a in ids.tolist()), dtype=bool, count=len(ids)
        )

    return bitmaps, lookup, batch


BUILDERS = {"index": build_index, "set": build_set, "bitmap64": build_bitmap64}


# -- measuring ----------------------------------------------------------------------------


def _trim() -> None:
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: RSS stays less exact
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def per_call_ns(lookup: Lookup, queries: list[tuple[int, str]], repeats: int) -> float:
    def loop() -> None:
        for account, country in queries:
            lookup(account, country)

    times = timeit.repeat(loop, number=1, repeat=repeats)
    return statistics.median(times) / len(queries) * 1e9


def measure(name: str, pairs: int, seed: int, repeats: int, traced: bool) -> dict[str, Any]:
    """Everything about one structure; runs in its own process."""
    work = make_workload(pairs, seed)
    _trim()
    before = rss_bytes()
    started = time.perf_counter()
    structure, lookup, batch = BUILDERS[name](work)
    build_s = time.perf_counter() - started
    _trim()
    rss_delta = rss_bytes() - before

    hits_ok = all(lookup(a, c) for a, c in work.hits)
    misses_ok = not any(lookup(a, c) for a, c in work.misses)
    batch_ok = bool(np.array_equal(batch(work.batch), work.batch_expected))
    figures: dict[str, Any] = {
        "structure": name,
        "pairs": pairs,
        "build_s": build_s,
        "hit_ns": per_call_ns(lookup, work.hits, repeats),
        "miss_ns": per_call_ns(lookup, work.misses, repeats),
        "batch_ms": statistics.median(
            timeit.repeat(lambda: batch(work.batch), number=1, repeat=repeats)
        )
        * 1e3,
        "rss_bytes_per_pair": rss_delta / pairs,
        "answers_correct": hits_ok and misses_ok and batch_ok,
    }
    if isinstance(structure, VisibilityIndex):
        figures.update(measure_index_extras(structure, work))
    if traced and name != "bitmap64":
        del structure, lookup, batch
        _trim()
        tracemalloc.start()
        kept = BUILDERS[name](work)
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del kept
        figures["traced_bytes_per_pair"] = current / pairs
    return figures


def measure_index_extras(index: VisibilityIndex, work: Workload) -> dict[str, Any]:
    memory = index.memory_bytes()  # before the adds below change them
    accounts = index.accounts_count()
    started = time.perf_counter()
    snapshot = index.to_bytes()
    to_bytes_s = time.perf_counter() - started
    started = time.perf_counter()
    loaded = VisibilityIndex.from_bytes(snapshot)
    from_bytes_s = time.perf_counter() - started
    assert len(loaded) == len(index)
    del loaded
    fresh = snowflakes(np.random.default_rng(99), 50_000).tolist()
    started = time.perf_counter()
    for account in fresh:
        index.add(account, "DE")
    adds_s = time.perf_counter() - started
    started = time.perf_counter()
    index.compact()
    compact_s = time.perf_counter() - started
    return {
        "memory_bytes_per_pair": memory / len(work.accounts),
        "accounts": accounts,
        "snapshot_bytes_per_pair": len(snapshot) / len(work.accounts),
        "to_bytes_s": to_bytes_s,
        "from_bytes_s": from_bytes_s,
        "add_new_account_us": adds_s / len(fresh) * 1e6,
        "compact_after_50k_adds_s": compact_s,
    }


# -- driving ------------------------------------------------------------------------------


def run_worker(name: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        name,
        "--pairs",
        str(args.pairs),
        "--seed",
        str(args.seed),
        "--repeats",
        str(args.repeats),
        "--traced-max",
        str(args.traced_max),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"worker {name} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cell(row: dict[str, Any], key: str, spec: str) -> str:
    value = row.get(key)
    return "n/a" if value is None else format(value, spec)


def print_table(rows: list[dict[str, Any]], pairs: int) -> None:
    print(f"\n{pairs:,} pairs, 8 countries + XX, random snowflake ids")
    header = (
        f"{'structure':<22} {'build s':>8} {'hit ns':>7} {'miss ns':>8} {'batch10k ms':>12}"
        f" {'B/pair RSS':>11} {'B/pair traced':>14} {'B/pair est':>11} {'ok':>4}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        ok = "yes" if row["answers_correct"] else "NO"
        print(
            f"{LABELS[row['structure']]:<22} {row['build_s']:>8.2f} {row['hit_ns']:>7.0f}"
            f" {row['miss_ns']:>8.0f} {row['batch_ms']:>12.2f}"
            f" {row['rss_bytes_per_pair']:>11.1f} {_cell(row, 'traced_bytes_per_pair', '.1f'):>14}"
            f" {_cell(row, 'memory_bytes_per_pair', '.1f'):>11} {ok:>4}"
        )
    ours = next((row for row in rows if row["structure"] == "index"), None)
    if ours:
        print(
            f"\nVisibilityIndex: {ours['accounts']:,} accounts;"
            f" snapshot {ours['snapshot_bytes_per_pair']:.1f} B/pair,"
            f" to_bytes {ours['to_bytes_s'] * 1e3:.0f} ms,"
            f" from_bytes {ours['from_bytes_s'] * 1e3:.0f} ms;"
            f" add of a new account {ours['add_new_account_us']:.2f} us;"
            f" compact after 50k adds {ours['compact_after_50k_adds_s'] * 1e3:.0f} ms"
        )
    print(
        "B/pair traced: tracemalloc (sees no C heap: for ours, numpy arrays and delta only);"
        " B/pair est: memory_bytes()"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--repeats", type=int, default=25, help="timeit repeats per figure")
    parser.add_argument(
        "--skip-baselines-above",
        type=int,
        default=None,
        metavar="N",
        help="measure only our index when --pairs exceeds N",
    )
    parser.add_argument(
        "--traced-max",
        type=int,
        default=2_000_000,
        metavar="N",
        help="skip the tracemalloc rebuild of the set baseline above N pairs (slow)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument("--worker", choices=STRUCTURES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        traced = args.worker == "index" or args.pairs <= args.traced_max
        figures = measure(args.worker, args.pairs, args.seed, args.repeats, traced)
        print(json.dumps(figures))
        return 0

    names = STRUCTURES
    if args.skip_baselines_above is not None and args.pairs > args.skip_baselines_above:
        names = ["index"]
    rows = [run_worker(name, args) for name in names]
    print_table(rows, args.pairs)
    if args.json:
        args.json.write_text(
            json.dumps({"pairs": args.pairs, "seed": args.seed, "results": rows}, indent=2) + "\n",
            encoding="utf-8",
        )
    return 0 if all(row["answers_correct"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
