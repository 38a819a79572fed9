"""Whether a Docker engine is reachable, for the testcontainers tests against real k3s and Consul."""

from __future__ import annotations

import functools


@functools.cache
def docker_unavailable_reason() -> str | None:
    """None when a Docker engine answers; otherwise why not (printed by the skipping test)."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception as exc:
        return f"Docker engine not reachable ({type(exc).__name__}: {str(exc)[:120]})"
    return None
