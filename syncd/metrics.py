"""Prometheus metrics, shared by the engine (cycles, writes, drops) and the daemon (leader, HTTP).

Names follow Prometheus conventions: ``syncd_`` prefix, base units, ``_total`` for counters.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CYCLE_SECONDS = Histogram(
    "syncd_adapter_cycle_duration_seconds",
    "Time one adapter took to read its registry.",
    ["adapter"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
LAST_SUCCESS = Gauge(
    "syncd_adapter_last_success_timestamp_seconds",
    "Unix time of the adapter's last successful read.",
    ["adapter"],
)
ADAPTER_FAILURES = Counter("syncd_adapter_failures_total", "Cycles in which the adapter failed.", ["adapter"])
SERVICES = Gauge(
    "syncd_adapter_services", "Services the adapter saw on its last successful read.", ["adapter"]
)
ENDPOINTS = Gauge(
    "syncd_adapter_endpoints", "Endpoints the adapter saw on its last successful read.", ["adapter"]
)
DROPPED = Counter(
    "syncd_dropped_records_total",
    "Invalid registry records left out (endpoint, label, port, ...).",
    ["adapter", "what"],
)
REFUSED = Counter("syncd_refused_services_total", "Services that could not be rendered validly.", ["adapter"])
CONFLICTS = Counter(
    "syncd_host_conflicts_total", "Hosts claimed by two services; the later one left out.", ["adapter"]
)
PLAN_CHANGES = Gauge("syncd_plan_changes", "Changes in the last plan.", ["action"])
DELETE_REFUSALS = Counter(
    "syncd_delete_refusals_total",
    "Plans whose deletes were withheld by safety.max_delete_percent.",
    ["adapter"],
)
WRITES = Counter("syncd_writes_total", "Write requests to the target.", ["verb", "result"])
INVALID_OBJECTS = Counter(
    "syncd_invalid_objects_total", "Rendered objects that failed validation and were not written.", ["kind"]
)
CYCLES = Counter("syncd_cycles_total", "Reconcile cycles run.", ["result"])

# -- syncd run (syncd/daemon) --------------------------------------------------------------------
LEADER = Gauge("syncd_leader", "1 while this replica holds the leader Lease (and may write), else 0.")
RECONCILE_SECONDS = Histogram(
    "syncd_reconcile_duration_seconds",
    "Time one reconcile took (render, plan and apply against the latest snapshots).",
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
WATCH_RESTARTS = Counter(
    "syncd_watch_restarts_total",
    "Times the owned-objects watch was re-established: gone (410, relist), error (reconnect "
    "with backoff), resync (periodic relist).",
    ["reason"],
)
WATCH_EVENTS = Counter(
    "syncd_watch_events_total",
    "Watch events on owned objects; origin=ours for echoes of our own writes, foreign for drift.",
    ["type", "origin"],
)
CACHE_OBJECTS = Gauge("syncd_cache_objects", "Owned objects held by the watch cache.")
CACHE_SYNCED = Gauge("syncd_cache_synced", "1 once the watch cache has listed the owned objects, else 0.")
ADAPTER_RUNS = Counter(
    "syncd_adapter_runs_total",
    "Adapter reads started by the daemon, by what triggered them "
    "(interval, watch, hint, rerun, start, leader, reload, resync).",
    ["adapter", "trigger"],
)
CONFIG_RELOADS = Counter("syncd_config_reloads_total", "Config reloads by result (ok, rejected).", ["result"])
READY = Gauge("syncd_ready", "1 while /readyz answers 200, else 0.")
