"""The performance core: which accounts are withheld in which countries, in memory.

``VisibilityIndex`` answers "is account A withheld in country C?" as
``A in bitmap[C] or A in bitmap["XX"]``. Account ids are sparse 64-bit snowflakes, which
Roaring cannot compress, so an ordinal map (``_ordinals``: a numpy bucketed hash layout
plus a small dict delta) turns them into dense ordinals, and one 32-bit pyroaring
``BitMap`` per country holds ordinals (``_visibility``). ``_snapshot`` is the on-disk
format, ``_country_codes`` the code validation, ``_probe.c`` optional compiled single lookups
(``COMPILED_PROBE`` says whether they were built): the index's ``probe``, and
``QueryAnswerer``, which answers GET /visible's common query string through it (the hot
path's one call per lookup; None when not compiled), and ``scan_post_items`` /
``render_post_items``, which read and write a 10,000-post ``POST /visible`` without a JSON
parse (``app.edge.bodies`` falls back to orjson without them). ``HashtagIndex``
(``_hashtags``) holds the restricted hashtags, a set per country.

Concurrency: none, on purpose, and no locks. The index is mutated only on the asyncio
event loop's thread and read on that same thread. Every update (``add``, ``discard``,
``compact``) is synchronous, so no reader can run between its steps and see a
half-applied update; compaction builds the new ordinal map and bitmaps aside and swaps
them in with one assignment. The one exception is by construction: ``begin_compaction``
hands a worker thread copies (and the immutable base) to compact, journals the updates
made meanwhile, and ``finish_compaction`` swaps the result in and replays them, both on
the loop; ``snapshot_later`` likewise hands a worker thread copies to encode. Do not
otherwise share an index across threads or processes: give blocking work (a bulk build,
loading a snapshot) its own index and hand it over whole.

This package imports nothing from fastapi, sqlalchemy, pydantic or the rest of ``app``
(``tests/unit/test_index_isolation.py`` enforces it), so it can be benchmarked and
tested alone.
"""

from app.index._compiled import (
    COMPILED_PROBE,
    QueryAnswerer,
    render_post_items,
    scan_post_items,
)
from app.index._country_codes import ALL_COUNTRIES
from app.index._hashtags import HashtagIndex
from app.index._ordinals import MAX_ID
from app.index._snapshot import joined
from app.index._visibility import Compacted, DecimalProbe, VisibilityIndex

__all__ = [
    "ALL_COUNTRIES",
    "COMPILED_PROBE",
    "MAX_ID",
    "Compacted",
    "DecimalProbe",
    "HashtagIndex",
    "QueryAnswerer",
    "VisibilityIndex",
    "joined",
    "render_post_items",
    "scan_post_items",
]
