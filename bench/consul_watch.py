"""Consul watch (blocking queries) against a plain 30 s poll: 1,000 services x 5 instances.

    python bench/consul_watch.py [--services 1000] [--instances 5] [--changes 50] [--steady 20] [--wait 5s]

The Consul emulator runs in a child process, so the CPU figures are the adapter's alone. Steps:
1. watch: ``--changes`` single registrations (a new instance of a random service, one at a time);
   time to ``wake()`` and to a ``discover()`` that shows the new address; p50 / p99.
2. steady state: no changes for ``--steady`` seconds with a short ``--wait``: requests per watch per
   wait period (1.0 means no polling storm) and CPU seconds of this process.
3. poll: one timed plain read (what one poll cycle costs); a 30 s poll's requests per minute,
   CPU and propagation latency (half the interval on average) are derived from it.
Idle figures are also projected to Consul's default wait of 5 minutes. Runs in well under 2 minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import consul  # noqa: E402
import structlog  # noqa: E402

from adapters.consul import ConsulAdapter  # noqa: E402
from adapters.consul_settings import ConsulSettings  # noqa: E402
from syncd.model.durations import parse_duration  # noqa: E402

POLL_INTERVAL = 30.0
DEFAULT_WAIT = 300.0


class Emulator:
    """The emulator in a child process, seeded with the services, and its counters over HTTP."""

    def __init__(self, services: int, instances: int) -> None:
        command = [sys.executable, "-m", "tests.emulators.consul_api"]
        command += ["--services", str(services), "--instances", str(instances)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.address = json.loads(self.process.stdout.readline())["address"]
        host, port = self.address.removeprefix("http://").rsplit(":", 1)
        self.client = consul.Consul(host=host, port=int(port), token=None)

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.address}/_emulator/stats") as response:
            data: dict[str, Any] = json.load(response)
            return data

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.stats()["requests"]
        return counts

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100.0

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Wakes:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.cond = threading.Condition()

    def __call__(self) -> None:
        with self.cond:
            self.times.append(time.perf_counter())
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.times) >= count, timeout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=5)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--steady", type=float, default=20.0, help="seconds of steady state")
    parser.add_argument("--wait", default="5s", help="blocking-query wait for the steady state")
    parser.add_argument("--latency-wait", default="5m", help="blocking-query wait while changes are timed")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings only
    started = time.perf_counter()

    print(f"seeding {args.services} services x {args.instances} instances in the emulator ...", flush=True)
    emulator = Emulator(args.services, args.instances)
    try:
        rows = latency(emulator, args, parse_duration(args.latency_wait), random.Random(1))
        rows |= steady_state(emulator, args, parse_duration(args.wait))
        rows |= plain_read(emulator, args)
    finally:
        emulator.close()
    print_table(rows, args, parse_duration(args.wait))
    print(f"\n(total run time {time.perf_counter() - started:.0f}s)")


class Watching:
    """``adapter.watch`` on a thread, primed (every service read and its blocking query sent)."""

    def __init__(self, emulator: Emulator, services: int, wait: float) -> None:
        self.adapter = ConsulAdapter("bench", ConsulSettings(address=emulator.address, wait=wait))
        self.wakes, self.stop = Wakes(), threading.Event()
        self.thread = threading.Thread(target=self.adapter.watch, args=(self.wakes, self.stop), daemon=True)
        before = emulator.stats()["blocking"].get("/v1/health/service", 0)
        started = time.perf_counter()
        self.thread.start()
        assert self.wakes.wait_for(1, 120), "the watch never primed"
        self.primed = time.perf_counter() - started
        deadline = time.monotonic() + 60
        while emulator.stats()["blocking"].get("/v1/health/service", 0) - before < services:
            assert time.monotonic() < deadline, "the watch never armed every service"
            time.sleep(0.1)

    def close(self) -> bool:
        self.stop.set()
        self.thread.join(10)
        return not self.thread.is_alive()


def latency(emulator: Emulator, args: argparse.Namespace, wait: float, rng: random.Random) -> dict[str, Any]:
    """Single registrations, one at a time: time to wake() and to a discover() that shows them."""
    watch = Watching(emulator, args.services, wait)
    print(f"watch primed in {watch.primed:.1f}s; timing {args.changes} changes ...", flush=True)
    to_wake: list[float] = []
    to_discover: list[float] = []
    for k, service in enumerate(rng.sample(range(args.services), args.changes)):
        name, ip = f"svc-{service:04d}", f"10.250.{k // 250}.{k % 250 + 1}"
        count = len(watch.wakes.times)
        begin = time.perf_counter()
        emulator.client.catalog.register(
            f"bench-{k}", ip, service={"Service": name, "ID": f"b{k}", "Port": 8080}
        )
        assert watch.wakes.wait_for(count + 1, 10), f"no wake for change {k}"
        woke = watch.wakes.times[count]
        snapshot = watch.adapter.discover()
        seen = time.perf_counter()
        found = next(s for s in snapshot.services if s.name == name)
        assert ip in {e.address for e in found.endpoints}, "discover() after the wake misses the change"
        to_wake.append(woke - begin)
        to_discover.append(seen - begin)
        time.sleep(rng.uniform(0.05, 0.15))
    return {"prime": watch.primed, "wake": to_wake, "discover": to_discover, "stopped_first": watch.close()}


def steady_state(emulator: Emulator, args: argparse.Namespace, wait: float) -> dict[str, Any]:
    """No changes: requests and CPU of an idle watch with a short wait."""
    watch = Watching(emulator, args.services, wait)
    print(f"measuring {args.steady:.0f}s of steady state (wait={args.wait}) ...", flush=True)
    time.sleep(wait)  # past the first round of waits, so every loop is in its rhythm
    before, cpu0, emu0, t0 = (
        emulator.requests(),
        time.process_time(),
        emulator.cpu_seconds(),
        time.perf_counter(),
    )
    time.sleep(args.steady)
    rows = {
        "steady_seconds": time.perf_counter() - t0,
        "steady_cpu": time.process_time() - cpu0,
        "steady_emulator_cpu": emulator.cpu_seconds() - emu0,
        "steady_requests": _diff(emulator.requests(), before),
        "steady_wakes": len(watch.wakes.times) - 1,
    }
    rows["stopped"] = watch.close()
    return rows


def plain_read(emulator: Emulator, args: argparse.Namespace) -> dict[str, Any]:
    """One discover() with no watch running: the cost of one poll cycle."""
    adapter = ConsulAdapter("bench", ConsulSettings(address=emulator.address))
    before, cpu0, t0 = emulator.requests(), time.process_time(), time.perf_counter()
    snapshot = adapter.discover()
    rows = {
        "read_seconds": time.perf_counter() - t0,
        "read_cpu": time.process_time() - cpu0,
        "read_requests": sum(_diff(emulator.requests(), before).values()),
    }
    assert snapshot.ok and len(snapshot.services) == args.services
    return rows


def print_table(rows: dict[str, Any], args: argparse.Namespace, wait: float) -> None:
    n = args.services
    steady = rows["steady_requests"]
    health, catalog = steady.get("/v1/health/service", 0), steady.get("/v1/catalog/services", 0)
    periods = rows["steady_seconds"] / wait
    per_watch = (health + catalog) / ((n + 1) * periods)
    watch_rpm = (health + catalog) / rows["steady_seconds"] * 60
    cpu_per_request = rows["steady_cpu"] / max(1, health + catalog)
    projected_rpm = per_watch * (n + 1) * 60 / DEFAULT_WAIT
    poll_rpm = rows["read_requests"] * 60 / POLL_INTERVAL
    w, d = rows["wake"], rows["discover"]
    mean_poll = POLL_INTERVAL / 2 + rows["read_seconds"]
    ms = 1000.0
    table = [
        ("", "watch (blocking queries)", f"poll every {POLL_INTERVAL:.0f}s (derived)"),
        (
            f"change -> wake(), p50 / p99 (wait={args.latency_wait})",
            f"{_pct(w, 0.5) * ms:.0f} / {_pct(w, 0.99) * ms:.0f} ms",
            "-",
        ),
        (
            f"change -> discover() shows it, p50 / p99 (wait={args.latency_wait})",
            f"{_pct(d, 0.5) * ms:.0f} / {_pct(d, 0.99) * ms:.0f} ms",
            f"~{mean_poll:.1f} s mean, ~{POLL_INTERVAL * 0.99 + rows['read_seconds']:.1f} s p99",
        ),
        (
            "change -> discover(), mean",
            f"{statistics.mean(d) * ms:.0f} ms",
            f"~{mean_poll:.1f} s",
        ),
        (f"requests per watch per wait period, idle (wait={args.wait})", f"{per_watch:.2f}", "-"),
        (f"requests per minute, idle (wait={args.wait}, measured)", f"{watch_rpm:,.0f}", f"{poll_rpm:,.0f}"),
        (
            "requests per minute, idle (wait=5m default)",
            f"{projected_rpm:,.0f} (projected)",
            f"{poll_rpm:,.0f}",
        ),
        (
            f"adapter CPU s per minute, idle (wait={args.wait}, measured)",
            f"{rows['steady_cpu'] / rows['steady_seconds'] * 60:.2f}",
            f"{rows['read_cpu'] * 60 / POLL_INTERVAL:.2f}",
        ),
        (
            "adapter CPU s per minute, idle (wait=5m default)",
            f"{cpu_per_request * projected_rpm:.3f} (projected)",
            f"{rows['read_cpu'] * 60 / POLL_INTERVAL:.2f}",
        ),
        (
            "one full read (poll cycle): time / requests",
            "-",
            f"{rows['read_seconds']:.2f} s / {rows['read_requests']:,}",
        ),
    ]
    width = [max(len(r[i]) for r in table) for i in range(3)]
    print(f"\n{n} services x {args.instances} instances, {args.changes} changes, ", end="")
    print(f"{rows['steady_seconds']:.0f}s steady state")
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(width[j]) for j, cell in enumerate(row)))
        if i == 0:
            print("  ".join("-" * width[j] for j in range(3)))
    print(
        f"\nwatch: primed in {rows['prime']:.1f}s; wakes while idle {rows['steady_wakes']}; "
        f"idle requests {health} health + {catalog} catalog in {rows['steady_seconds']:.0f}s; "
        f"emulator CPU {rows['steady_emulator_cpu']:.1f}s (child process, not counted); "
        f"both watches stopped cleanly: {rows['stopped_first'] and rows['stopped']}"
    )


if __name__ == "__main__":
    main()
