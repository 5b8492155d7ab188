"""Types of the compiled probe (``_probe.c``; optional, see ``_ordinals.py``)."""

from typing import Any

class BaseProbe:
    def __init__(self, keys: Any, offsets: Any, shift: int) -> None: ...
    def ordinal_of_decimal(self, digits: bytes, /) -> int: ...
