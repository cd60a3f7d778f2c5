"""lab/lanes.py's failure digest: the lines of a failed job's log that say why."""
import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("lanes", os.path.join(REPO, "lab", "lanes.py"))
lanes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lanes)

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
