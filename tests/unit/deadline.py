# Copyright: (c) 2026, kubegpu.nvidia contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deadline for a test whose failure mode is to hang (a FIFO opened, a link loop walked)."""

from __future__ import annotations

import contextlib
import signal

import pytest


@contextlib.contextmanager
def deadline(seconds, what):
    """Fail the test when the body has not returned within `seconds` (SIGALRM ends a blocked open() or a loop)."""

    def expired(signum, frame):
        pytest.fail(f"{what} did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
