"""What the two instruction-counting scripts share: valgrind's callgrind, started with counting
off, switched on and off around the measured work, and the total it wrote."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

VALGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]


def require_valgrind() -> None:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind not found: install it (`apt-get install valgrind`), then rerun")


def instrument(pid: int, state: Literal["on", "off"]) -> None:
    """Switch counting on or off in a process running under callgrind."""
    command = ["callgrind_control", "-i", state, str(pid)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def total_instructions(out: Path) -> int:
    """The instructions counted in a callgrind output file."""
    match = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no totals in {out}")
    return int(match.group(1))
