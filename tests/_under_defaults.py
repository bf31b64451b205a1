"""The tests marked ``xla_defaults``, run once per test session in one background pytest
under XLA's default compile settings.

The suite compiles under faster settings (``tests/conftest.py``); a few tests pin a
result of XLA's defaults bit for bit, or run a program those settings slow down. One
worker starts a single pytest subprocess for every marked test it collected, as soon as
collection ends, so it runs beside the workers instead of holding one of them up; each
worker that reaches a marked test waits for that run's outcomes and reports them. A
marked test the run did not report (its subprocess died, or it was not started in this
session) runs in a subprocess of its own file, in the worker that needs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

# Runs pytest, then marks the run finished even when pytest itself crashed.
_WRAPPER = (
    "import subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "open(sys.argv[1], 'w').write(str(code))\n"
)


def _env(report: str, given_xla_flags: str) -> dict:
    return dict(
        os.environ,
        KERAX_TEST_XLA_DEFAULTS="1",
        XLA_FLAGS=given_xla_flags,
        KERAX_TEST_OUTCOMES=report,
    )


def _pytest(nodeids: list) -> list:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", *nodeids]


class DefaultsRun:
    """The background run: started by one process, read by every worker."""

    def __init__(self, folder: str, given_xla_flags: str):
        self.folder, self.given_xla_flags = folder, given_xla_flags
        self.report = os.path.join(folder, "outcomes")
        self.done = os.path.join(folder, "done")
        self.log = os.path.join(folder, "output")
        self.process = None
        self._outcomes = None

    def start(self, nodeids: list, rootpath) -> None:
        os.makedirs(self.folder, exist_ok=True)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _WRAPPER, self.done, *_pytest(nodeids)],
                cwd=rootpath,
                env=_env(self.report, self.given_xla_flags),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def outcomes(self, wait_s: float = 900.0) -> tuple:
        """``({node id: outcome}, output)`` once the run has finished ({} if it never
        started, or did not finish within ``wait_s``)."""
        if self._outcomes is None:
            deadline = time.monotonic() + wait_s
            while not os.path.exists(self.done) and time.monotonic() < deadline:
                if not os.path.exists(self.log):
                    return {}, ""  # no run was started in this session
                time.sleep(0.2)
            self._outcomes = (_read_outcomes(self.report), _read(self.log))
        return self._outcomes

    def stop(self) -> None:
        """Ends the run if the session ends first (e.g. ``-x`` stopped it early)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()


def run_file(nodeids: list, rootpath, given_xla_flags: str, folder: str) -> tuple:
    """``({node id: outcome}, output)`` of a pytest subprocess running ``nodeids`` now."""
    report = os.path.join(folder, f"outcomes-{os.getpid()}-{time.monotonic_ns()}")
    run = subprocess.run(
        _pytest(nodeids),
        cwd=rootpath,
        env=_env(report, given_xla_flags),
        capture_output=True,
        text=True,
    )
    return _read_outcomes(report), run.stdout + run.stderr


def _read(path: str) -> str:
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


def _read_outcomes(report: str) -> dict:
    """A test's worst phase is its outcome."""
    outcomes: dict = {}
    for line in _read(report).splitlines():
        outcome, nodeid = line.split(" ", 1)
        if outcomes.get(nodeid, "passed") == "passed":
            outcomes[nodeid] = outcome
    return outcomes
