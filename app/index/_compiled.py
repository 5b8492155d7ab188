"""The compiled probes (``_probe.c``), or None for each where no C compiler built them.

setup.py builds ``_probe`` when a compiler is at hand; every probe has a Python twin that gives
the same answers (see ``_probe.c`` for which is whose).
"""

from __future__ import annotations

from typing import Final

try:
    from app.index._probe import (
        BaseProbe,
        DeltaMap,
        IndexProbe,
        QueryAnswerer,
        render_post_items,
        scan_post_items,
    )
except ImportError:  # pragma: no cover - installs without a compiler
    BaseProbe = DeltaMap = IndexProbe = QueryAnswerer = None  # type: ignore[assignment,misc]
    render_post_items = scan_post_items = None  # type: ignore[assignment]

COMPILED_PROBE: Final = BaseProbe is not None
"""True when single lookups run compiled (``_probe.c``), else in Python."""

__all__ = [
    "COMPILED_PROBE",
    "BaseProbe",
    "DeltaMap",
    "IndexProbe",
    "QueryAnswerer",
    "render_post_items",
    "scan_post_items",
]
