"""Config reload without a restart: on SIGHUP, or when the file's mtime/size/inode changed.

A config that does not load is rejected with ``config_reload_rejected`` (every problem by key
path) and the running one stays. ``needs_restart`` names the keys a reload cannot apply.
"""

from __future__ import annotations

import os
from pathlib import Path

import structlog

from syncd import metrics
from syncd.config import Config, ConfigError, load_config
from syncd.logs import redact_text

log = structlog.get_logger(__name__)

_Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> _Stamp:
    try:
        st = os.stat(path)  # follows symlinks: a ConfigMap update swaps one, changing the inode
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class ConfigSource:
    """The config file the daemon runs from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = _stamp(path)

    def changed(self) -> bool:
        """True once per change of the file since the last call (or since start)."""
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        return True

    def load(self, reason: str) -> Config | None:
        """The new config, or None (logged and counted) when it cannot be used."""
        self._stamp = _stamp(self.path)
        try:
            config = load_config(self.path)
        except ConfigError as exc:
            metrics.CONFIG_RELOADS.labels("rejected").inc()
            log.error(
                "config_reload_rejected",
                path=str(self.path),
                reason=reason,
                problems=[redact_text(p) for p in exc.problems],
                consequence="the running config is kept",
            )
            return None
        return config


def needs_restart(old: Config, new: Config) -> list[str]:
    """Top-level keys whose change only takes effect after a restart."""
    keys = []
    if old.server != new.server:
        keys.append("server")
    if (
        old.leader_election != new.leader_election
        or old.leader_election_enabled != new.leader_election_enabled
    ):
        keys.append("leader_election")
    if (old.target.type == "kubernetes") != (new.target.type == "kubernetes") or (
        old.target.kubeconfig,
        old.target.context,
    ) != (new.target.kubeconfig, new.target.context):
        keys.append("target (for the leader Lease)")
    return keys


def target_changed(old: Config, new: Config) -> bool:
    """Whether the target (and its watch cache) must be rebuilt."""
    return old.target != new.target or old.owner != new.owner or old.managed_kinds != new.managed_kinds
