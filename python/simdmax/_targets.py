"""Instruction-set targets and the thread limit (process-wide, as in the C API)."""
from . import _core
from ._errors import ArgumentError, check


def targets():
    """The targets compiled in and supported by this CPU, best first (Highway's names, e.g. ['AVX3_DL', ...])."""
    return [_core.target_name(i) for i in range(_core.target_count())]


def selected_target():
    """The target the next call uses."""
    return _core.selected_target()


class select_target:
    """Selects a target by name (case-insensitive; None or "" = the best) for the whole process, now.
    Also a context manager that restores the previous selection on exit:
        with simdmax.select_target("AVX2"): ...
    TargetError (a ValueError) for a name no architecture defines or one this CPU/build lacks; the selection is
    then unchanged."""

    def __init__(self, name):
        self._previous = _core.selected_target()
        check(_core.select_target(name), f"select_target({name!r})")
        self.name = _core.selected_target()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _core.select_target(self._previous)
        return False

    def __repr__(self):
        return f"select_target({self.name!r})"


def set_max_threads(n):
    """Threads for batches: 0 = TBB's default (all cores). Results are identical for every count."""
    if int(n) < 0:
        raise ArgumentError("set_max_threads: n must be >= 0")
    check(_core.set_max_threads(int(n)), "set_max_threads")
