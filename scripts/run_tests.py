"""Run pytest and refuse to call an empty run a success.

pytest exits 5 when it collects no tests; for us that is a broken test suite, not a
pass, so we turn it into a failure with a clear message.
"""

from __future__ import annotations

import sys

import pytest

if __name__ == "__main__":
    code = pytest.main(sys.argv[1:])
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("error: pytest collected no tests - the test suite is broken", file=sys.stderr)
        sys.exit(1)
    sys.exit(int(code))
