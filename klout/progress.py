"""Progress logging: every step says what it did, with counts and seconds."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("klout")


class _Stderr(logging.StreamHandler):
    """A handler writing to whatever sys.stderr is at the time (it may be replaced, e.g. by test capture)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(level: int = logging.INFO) -> None:
    """Log klout's progress to stderr with timestamps (idempotent)."""
    if not any(getattr(h, "_klout", False) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        handler._klout = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


@contextmanager
def step(name: str, **context: object) -> Iterator[dict]:
    """Time a step; the caller may add counts to the yielded dict, logged with the seconds when the step ends."""
    counts: dict = {}
    started = time.monotonic()
    log.info("%s: start %s", name, _fmt(context))
    try:
        yield counts
    except Exception:
        log.error("%s: failed after %.1fs", name, time.monotonic() - started)
        raise
    counts["seconds"] = round(time.monotonic() - started, 2)
    log.info("%s: done %s", name, _fmt(counts))


def _fmt(values: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())
