"""Country codes: validation and vectorised encoding of code arrays."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

ALL_COUNTRIES: Final = "XX"
"""The code that withholds an account in every country."""


def is_country_code(code: object) -> bool:
    """Two upper-case ASCII letters (ISO 3166-1 alpha-2 shape, plus ``XX``)."""
    return (
        isinstance(code, str)
        and len(code) == 2
        and code.isascii()
        and code.isalpha()
        and code.isupper()
    )


def check_country_code(code: object) -> str:
    """Return ``code`` if it is a country code, else raise ``ValueError``."""
    if not is_country_code(code):
        raise ValueError(f"not a country code: {code!r}")
    assert isinstance(code, str)
    return code


def encode_countries(countries: NDArray[Any]) -> tuple[list[str], NDArray[np.unsignedinteger[Any]]]:
    """Distinct codes (sorted) and, per element, the position of its code among them.

    Accepts 1-D arrays of dtype ``S2`` or ``<U2`` (longer string dtypes too, if every
    element has exactly two characters). Vectorised: each code is read as a uint16.
    """
    codes = np.asarray(countries)
    if codes.ndim != 1:
        raise ValueError("countries must be a 1-D array")
    if codes.dtype.kind not in "US":
        raise TypeError(f"countries must be a string array, not {codes.dtype}")
    width = codes.dtype.itemsize // (4 if codes.dtype.kind == "U" else 1)
    if width > 2 and len(codes) and bool((np.char.str_len(codes) != 2).any()):
        raise ValueError("every country code must have two characters")
    if codes.dtype.kind == "U":
        try:
            codes = codes.astype("S2")
        except UnicodeEncodeError as error:
            raise ValueError("country codes must be ASCII") from error
    elif width != 2:
        codes = codes.astype("S2")
    packed = np.ascontiguousarray(codes).view(np.uint16)
    present = np.flatnonzero(np.bincount(packed, minlength=1 << 16)).astype(np.uint16)
    by_code: dict[str, int] = {}
    for raw, value in zip(present.view("S2").tolist(), present.tolist(), strict=True):
        assert isinstance(raw, bytes)
        text = raw.decode("ascii", errors="replace")
        # NumPy strips trailing NULs from S2 items, so one-letter codes come out short.
        check_country_code(text)
        by_code[text] = value
    names = sorted(by_code)
    # One byte per element when it fits (it always does in practice): faster to sort.
    lookup: NDArray[np.unsignedinteger[Any]] = np.zeros(
        1 << 16, dtype=np.uint8 if len(names) <= 256 else np.uint16
    )
    for position, name in enumerate(names):
        lookup[by_code[name]] = position
    return names, lookup[packed]
