"""lab/lanes.py's failure digest: the lines of a failed job's log that say why."""
from lab import lanes

PYTEST_LOG = """\
============================= test session starts ==============================
collected 9 items
tests/test_failover.py ..F......
=================================== FAILURES ===================================
>       assert res["survived"] == res["opened"], res["connections"]
E       AssertionError: [{'port': 40000, 'error': 'reset'}]
E       assert 5 == 6
=========================== short test summary info ============================
FAILED tests/test_failover.py::test_connections_survive - AssertionError: [{'port'
1 failed, 8 passed in 301.2s
"""


def test_the_digest_keeps_the_assertion_and_the_summary_line():
    assert lanes.failure_digest(PYTEST_LOG) == [
        "E       AssertionError: [{'port': 40000, 'error': 'reset'}]",
        "E       assert 5 == 6",
        "FAILED tests/test_failover.py::test_connections_survive - AssertionError: [{'port'",
    ]


def test_the_digest_keeps_lab_timeouts_and_ansible_failures_and_is_bounded():
    log = "ok: [dir1]\nfatal: [dir2]: FAILED! => {}\nRuntimeError: timed out after 60 s waiting for x\n" \
          + "E   line\n" * 50
    digest = lanes.failure_digest(log, limit=5)
    assert digest[:2] == ["fatal: [dir2]: FAILED! => {}", "RuntimeError: timed out after 60 s waiting for x"]
    assert len(digest) == 5


def test_a_passing_log_has_no_reason_lines():
    assert lanes.failure_digest("collected 3 items\n...\n3 passed in 1.0s\n") == []


def fake_lab(tmp_path, fail_times):
    """A stand-in for lab/bin/lvslab: fails its first `fail_times` runs with an assertion line."""
    script = tmp_path / "fake-lvslab"
    script.write_text("#!/bin/sh\nn=$(cat %s/count 2>/dev/null || echo 0); echo $((n+1)) > %s/count\n"
                      "if [ $n -lt %d ]; then echo 'E       assert 5 == 6'; exit 1; fi\necho '1 passed'\n"
                      % (tmp_path, tmp_path, fail_times))
    script.chmod(0o755)
    return str(script)


def run_one_lane(monkeypatch, tmp_path, fail_times, reruns):
    import threading
    monkeypatch.setattr(lanes, "REPO", str(tmp_path))
    monkeypatch.setattr(lanes, "LVSLAB", fake_lab(tmp_path, fail_times))
    results = []
    lanes.run_lane(0, [("failover", ["--", "true"])], results, threading.Lock(), timeout=60, reruns=reruns)
    return results[0]


def test_a_failed_lab_job_passes_only_if_its_rerun_passes(monkeypatch, tmp_path):
    name, lane, took, rc, failed_runs = run_one_lane(monkeypatch, tmp_path, fail_times=1, reruns=1)
    assert (name, lane, rc) == ("failover", 0, 0) and took > 0
    # The failed run stays visible: its log kept, its reason recorded.
    assert failed_runs == [(1, ".lab/lane-0/failover.run-1.log", ["E       assert 5 == 6"])]
    assert (tmp_path / ".lab/lane-0/failover.run-1.log").read_text().startswith("E       assert")
    assert (tmp_path / ".lab/lane-0/failover.log").read_text() == "1 passed\n"


def test_a_job_failing_every_run_fails(monkeypatch, tmp_path):
    rc, failed_runs = run_one_lane(monkeypatch, tmp_path, fail_times=2, reruns=1)[3:]
    assert rc == 1
    assert [run[0] for run in failed_runs] == [1, 2]


def test_without_reruns_a_failure_is_final(monkeypatch, tmp_path):
    rc, failed_runs = run_one_lane(monkeypatch, tmp_path, fail_times=1, reruns=0)[3:]
    assert rc == 1 and len(failed_runs) == 1
