"""Optimisation algorithms for pcn-planner: candidate hubs, master problem, bounds.

Solvers read the domain (problem, plan, geography, scoring) from ``pcn_planner``
and never its CLI, maps or batch layers.
"""

import os as _os
import sys as _sys


def _silence_highs_banner() -> None:
    """Create the process's first HiGHS object with stdout closed.

    HiGHS prints its copyright banner from C++ the first time a ``Highs``
    object is made in a process, before any option can switch output off; it
    would land in the middle of CLI output and notebook cells. Later objects
    print nothing unless asked to.
    """
    try:
        import highspy
    except ImportError:  # CBC-only installs
        return
    try:
        _sys.stdout.flush()
        saved = _os.dup(1)
    except (OSError, ValueError):  # no real stdout (embedded interpreters)
        return
    devnull = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        _os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        _os.dup2(saved, 1)
        _os.close(saved)
        _os.close(devnull)


_silence_highs_banner()
