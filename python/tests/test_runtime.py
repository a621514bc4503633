"""Targets, threads, the GIL, reference counts and the version."""
import gc
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import simdmax


def test_version_and_targets():
    assert simdmax.__version__.count(".") == 2
    ts = simdmax.targets()
    assert ts and simdmax.selected_target() == ts[0]
    with simdmax.select_target(ts[-1].lower()) as sel:
        assert simdmax.selected_target() == ts[-1] == sel.name
    assert simdmax.selected_target() == ts[0]


def test_target_errors_keep_the_selection():
    before = simdmax.selected_target()
    with pytest.raises(simdmax.TargetError) as e:
        simdmax.select_target("AVX9000")
    assert e.value.status == 5 and isinstance(e.value, ValueError)
    other = "NEON" if simdmax.targets()[0].startswith(("AVX", "SSE")) else "AVX2"
    with pytest.raises(simdmax.TargetError) as e:
        simdmax.select_target(other)
    assert e.value.status == 6
    assert simdmax.selected_target() == before


def test_results_do_not_depend_on_threads_or_python_threads():
    x = np.random.default_rng(9).standard_normal((512, 1000)).astype(np.float32)
    simdmax.set_max_threads(1)
    one = simdmax.softmax(x)
    simdmax.set_max_threads(0)
    np.testing.assert_array_equal(simdmax.softmax(x), one)
    results = [None] * 4

    def work(i):
        for _ in range(20):
            results[i] = simdmax.softmax(x)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, one)


def test_no_reference_or_memory_leaks():
    x = np.random.default_rng(10).standard_normal((2, 16)).astype(np.float32)
    out = np.empty_like(x)
    s = simdmax.OnlineSoftmax()
    refs = sys.getrefcount(x), sys.getrefcount(out)
    for _ in range(1000):  # warm-up: caches, interned strings
        simdmax.softmax(x, out=out)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(100000):
        simdmax.softmax(x, out=out)
        s.update(x)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept over 10^5 calls"
    assert (sys.getrefcount(x), sys.getrefcount(out)) == refs


def test_set_max_threads_errors():
    with pytest.raises(ValueError):
        simdmax.set_max_threads(-1)


def test_tolerance_report_checks_every_target(capsys):
    from simdmax import tolerance
    assert tolerance.main(["--quick", "--check"]) == 0
    text = capsys.readouterr().out
    for t in simdmax.targets():
        assert f"| {t} | log_softmax | bf16 -> bf16 |" in text
    assert " 0 over their bound" in text


def test_tolerance_report_json_and_check_exit_code(capsys, monkeypatch):
    # The CLI around the measurements (which the test above runs for real): --json prints every entry with its
    # bound, and --check turns one entry past its bound into exit status 1 (measure() stubbed: 1 ULP, then 3).
    import json

    from simdmax import tolerance
    monkeypatch.setattr(tolerance, "measure", lambda target, op, x, y, cols: 1)
    assert tolerance.main(["--quick", "--json", "--check"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == simdmax.__version__
    assert {e["target"] for e in doc["entries"]} == set(simdmax.targets())
    assert all(set(e) == {"target", "op", "x", "y", "cols", "max_ulp", "bound"} for e in doc["entries"])
    assert {(e["op"], e["y"], e["bound"]) for e in doc["entries"] if e["y"] == "f32"} == {
        ("softmax", "f32", 2), ("log_softmax", "f32", 1)}
    monkeypatch.setattr(tolerance, "measure", lambda target, op, x, y, cols: 3 if cols == 1000 else 0)
    assert tolerance.main(["--quick", "--check"]) == 1
    captured = capsys.readouterr()
    assert "over the bound" in captured.err and "over their bound" in captured.out


def test_the_gil_is_released_during_kernels():
    # Python threads run kernels in parallel only if the binding drops the GIL inside the C call. Observed without
    # timing the kernel: while one thread is inside a long softmax call, the main thread keeps running Python code.
    # With the GIL held, no main-thread iteration could be stamped between the worker's stamp just before the call
    # and the call's return (the worker holds the GIL through both); with it released they run all along. The
    # window checked is the first half of the call (at most 5 ms), which the GIL switch after the call cannot reach.
    import time

    x = np.random.default_rng(12).standard_normal((1, 1 << 24)).astype(np.float32)
    out = np.empty_like(x)
    simdmax.set_max_threads(1)
    stamps, span, done = [], [], threading.Event()

    def work():
        t0 = time.perf_counter()
        simdmax.softmax(x, out=out)
        span.extend([t0, time.perf_counter()])
        done.set()

    try:
        worker = threading.Thread(target=work)
        worker.start()
        while not done.is_set():
            stamps.append(time.perf_counter())
        worker.join()
    finally:
        simdmax.set_max_threads(0)
    t0, t1 = span
    if t1 - t0 < 0.002:
        pytest.skip(f"the call took {1e3 * (t1 - t0):.2f} ms: too short to observe")
    window_end = t0 + min(0.5 * (t1 - t0), 0.005)
    inside = sum(1 for t in stamps if t0 < t < window_end)
    assert inside >= 10, f"{inside} main-thread iterations during the first part of a {1e3 * (t1 - t0):.1f} ms call"
    np.testing.assert_allclose(out.sum(), 1.0, rtol=1e-5)


def test_out_of_memory_becomes_memory_error():
    # The status mapping every call goes through (simdmax._errors.check), with the library's own message. (A real
    # OUT_OF_MEMORY needs an allocation that fails; the C suite injects those, tests/alloc_failure_test.cc.)
    with pytest.raises(MemoryError) as e:
        simdmax._errors.check(8, "attention")
    assert isinstance(e.value, simdmax.Error) and e.value.status == 8
    assert "out of memory" in str(e.value) and str(e.value).startswith("attention: ")
