"""A long-lived worker process with hard limits, for the attack suites.

An attack test sends the worker one JSON request per example and reads back one JSON
answer.  The worker runs under ``resource.setrlimit`` — address space (so a runaway
allocation is a MemoryError, not a machine swapping) and CPU seconds — and arms an alarm
per request as a hang guard.  A worker that dies (out of memory, CPU limit, a crash of
the interpreter) is restarted and the example reported as ``died``.

The caller gives the *body* of the worker: Python source that defines
``handle(request) -> dict`` (imports at its top).  Around it this module adds the limits,
the alarm, the loop and the answer for an unexpected exception (``crash`` with its
traceback): the test decides what a good answer is.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent

_FRAME = r'''
import json, resource, signal, sys, traceback
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
resource.setrlimit(resource.RLIMIT_CPU, ({cpu}, {cpu}))

def _hang(*_):
    raise TimeoutError("hang guard: no answer within {alarm} s")
signal.signal(signal.SIGALRM, _hang)

{body}

for _line in sys.stdin:
    _request = json.loads(_line)
    signal.alarm({alarm})
    try:
        _answer = handle(_request)
    except BaseException:
        _answer = {{"status": "crash", "traceback": traceback.format_exc()}}
    finally:
        signal.alarm(0)
    sys.stdout.write(json.dumps(_answer) + "\n")
    sys.stdout.flush()
'''


class LimitedWorker:
    """``ask(request)`` runs ``handle(request)`` in the limited process and returns its answer."""

    def __init__(self, body: str, *, memory: int = 2 * 2**30, cpu_seconds: int = 1800, alarm_seconds: int = 30) -> None:
        self.script = _FRAME.format(memory=memory, cpu=cpu_seconds, alarm=alarm_seconds, body=textwrap.dedent(body))
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", self.script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def ask(self, request: dict[str, object]) -> dict[str, object]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:  # it died: out of memory (the rlimit), CPU limit, or worse
            self.proc.wait()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            code = self.proc.returncode
            self.proc = self._start()
            return {"status": "died", "returncode": code, "stderr": err[-2000:]}
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
