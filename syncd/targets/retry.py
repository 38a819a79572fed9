"""Back off and retry calls that failed for a passing reason: 429 (honouring Retry-After), 5xx,
dropped connections. Delays use full jitter so many replicas do not retry in lockstep."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

T = TypeVar("T")

_TRANSIENT_IO = (
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.TimeoutError,
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.MaxRetryError,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class Backoff:
    """Retry policy: attempts after the first, base and cap of the delay in seconds."""

    retries: int = 5
    base: float = 0.2
    cap: float = 10.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return min(self.cap, retry_after) + rng.uniform(0, self.base)
        return rng.uniform(0, min(self.cap, self.base * 2**attempt))


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ApiException):
        return exc.status == 429 or (exc.status or 0) >= 500 or exc.status == 0
    return isinstance(exc, _TRANSIENT_IO)


def retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def with_backoff(
    call: Callable[[], T],
    policy: Backoff,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run ``call``; on a transient failure wait and retry up to ``policy.retries`` times."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            if attempt >= policy.retries or not is_transient(exc):
                raise
            sleep(policy.delay(attempt, retry_after(exc), rng))
            attempt += 1
