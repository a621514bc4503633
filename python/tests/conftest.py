"""Shared pieces of the Python suite: the long-double reference and ULP distances (simdmax/_reference.py, the C
suite's definitions: tests/reference.cc, tests/ulp.cc; the reference is maths in long double, not a kernel), and
one parametrisation over every target this CPU runs."""
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import simdmax
from simdmax._reference import FLT_MIN, max_ulp, ref_softmax, ulp_distance  # noqa: F401

# The target fixture selects one target for all the examples of a test, which is what it is for.
settings.register_profile("simdmax", suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None,
                          print_blob=True)
settings.load_profile("simdmax")


def max_ulp_softmax(got, ref):
    return max_ulp(got, ref, log=False)


@pytest.fixture(params=simdmax.targets())
def target(request):
    """Runs the test once per target this CPU supports (process-wide selection, restored afterwards)."""
    with simdmax.select_target(request.param):
        yield request.param


def pytest_terminal_summary(terminalreporter):
    """Prints (and writes to torch_comparison.md) the tables test_torch_comparison.py collected, when it ran."""
    import sys
    report = getattr(sys.modules.get("test_torch_comparison"), "REPORT", None)
    if not report or not (report["rows"] or report["attention"]):
        return
    lines = [f"simdmax and PyTorch against the exact value (this CPU's default target {simdmax.selected_target()}; "
             "'closer / farther': share of outputs whose ULP distance is smaller / larger than torch's):", ""]
    if report["rows"]:
        lines += ["| op | dtype | shape | simdmax max ULP | torch max ULP | simdmax correctly rounded |"
                  " torch correctly rounded | simdmax closer / farther |", "|---|---|---|---|---|---|---|---|"]
        lines += report["rows"] + [""]
    if report["attention"]:
        lines += ["Attention, max |out - exact| / max |v| (torch: scores, softmax and weighted sum in float32):", "",
                  "| mask | dtype | shape | simdmax | torch |", "|---|---|---|---|---|"]
        lines += report["attention"]
    terminalreporter.write_line("")
    for line in lines:
        terminalreporter.write_line(line)
    with open("torch_comparison.md", "w") as f:
        f.write("\n".join(lines) + "\n")
