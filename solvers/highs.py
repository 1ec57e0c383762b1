"""HiGHS without its banner on stdout.

HiGHS prints a copyright banner from C++ the first time a process makes a
``Highs`` object, before any option can switch output off; it would land in
the middle of CLI output and notebook cells. Later objects print nothing
unless asked to. So the first object is made here with file descriptor 1
pointed at the null device, on first use rather than at import: importing
:mod:`solvers` leaves stdout alone.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["new_highs", "quiet_banner"]

_banner_done = False


def quiet_banner() -> None:
    """Make the process's first ``Highs`` object with stdout closed (once; later calls return at once).

    Call before anything that creates a ``Highs`` object, including a PuLP
    ``HiGHS`` solve.
    """
    global _banner_done
    if _banner_done:
        return
    _banner_done = True
    try:
        import highspy
    except ImportError:  # CBC-only installs
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (embedded interpreters)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def new_highs() -> Any:
    """A fresh ``highspy.Highs`` object with its output switched off."""
    import highspy

    quiet_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h
