"""``syncd run``: the long-running daemon (docs/daemon.md).

Layer rule: the daemon sits on top of ``syncd.engine`` and ``syncd.build`` (and uses targets,
config and metrics); nothing imports it except ``syncd.cli``. Inside, each module has one job:

* ``main`` - wiring, signals, reload and shutdown order (``run_daemon``);
* ``scheduler`` - APScheduler jobs per task, debounced wakes, hints, floor between runs;
* ``debounce`` - the pure timing rules (clock passed in);
* ``reconciler`` - latest snapshot per adapter, reconciles serialised by one lock;
* ``watches`` - adapter watch threads, restarted when they fail;
* ``watch_cache`` / ``store`` - owned objects from list + watch, and the target that reads them;
* ``leader`` - Lease-based leader election (client-go's rules, clock passed in);
* ``guard`` - the target wrapper that lets only the leader write;
* ``http`` - /healthz, /readyz, /metrics;
* ``reload`` - loading a changed config, and what a reload cannot change.
"""

from syncd.daemon.main import run_daemon

__all__ = ["run_daemon"]
