"""Scale benchmark: N services × M endpoints through the file adapter into the Kubernetes API emulator.

    python -m bench.scale --sizes 1000,5000,10000 --endpoints 10

Prints, per size: cold sync, steady (no-change) cycle, one-endpoint change, CPU seconds, peak RSS,
API requests by verb and bytes written; the baseline (render once, `kubectl apply -f` on a timer)
side by side with syncd/baseline ratios; and for `syncd run` the steady-state request count and the
propagation latency p50/p99 of a single endpoint change; then one large service (20,000 endpoints
as WorkloadEntries against 4,000 inline): bytes written and time per endpoint change.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness import config, registry, run, syncd, table, write_json
from tests.emulators.kube_api import KubeApiEmulator

NS = "istio-system"
WRITE_VERBS = ("create", "update", "patch", "delete")


def verbs(emu: KubeApiEmulator) -> str:
    counts = emu.counts()
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v)


def writes(emu: KubeApiEmulator) -> int:
    return sum(emu.counts().get(v, 0) for v in WRITE_VERBS)


def bench_sync(
    size: int, endpoints: int, work: Path, adapter_options: dict[str, Any] | None = None
) -> dict[str, Any]:
    with KubeApiEmulator() as emu:
        kc = emu.write_kubeconfig(work / "kc")
        data = registry(size, endpoints)
        reg = write_json(work / "registry.json", data)
        target = {"type": "kubernetes", "kubeconfig": str(kc)}
        cfg = config(work / "config.yaml", reg, target, adapter_options=adapter_options)
        cold = run(*syncd("sync", "-c", str(cfg)))
        assert cold.returncode == 0, "cold sync failed"
        cold_requests, cold_bytes = verbs(emu), emu.bytes_written
        emu.reset_counts()
        steady = run(*syncd("sync", "-c", str(cfg)))
        steady_writes, steady_requests = writes(emu), verbs(emu)
        data["services"][size // 2]["endpoints"][0]["address"] = "192.0.2.1"
        write_json(reg, data)
        emu.reset_counts()
        bytes_before = emu.bytes_written
        change = run(*syncd("sync", "-c", str(cfg)))
        return {
            "services": size,
            "cold_s": cold.seconds,
            "cold_cpu_s": cold.cpu_seconds,
            "cold_rss_mb": cold.peak_rss_mb,
            "steady_s": steady.seconds,
            "steady_cpu_s": steady.cpu_seconds,
            "steady_writes": steady_writes,
            "change_s": change.seconds,
            "change_writes": writes(emu),
            "change_bytes": emu.bytes_written - bytes_before,
            "cold_bytes": cold_bytes,
            "cold_requests": cold_requests,
            "steady_requests": steady_requests,
        }


def bench_baseline(size: int, endpoints: int, work: Path, kubectl: str) -> dict[str, Any]:
    """What a team does without syncd: render everything, `kubectl apply -f` it every period."""
    with KubeApiEmulator() as emu:
        kc = emu.write_kubeconfig(work / "kc-base")
        reg = write_json(work / "registry-base.json", registry(size, endpoints))
        cfg = config(work / "config-base.yaml", reg, {"type": "stdout"})
        rendered = run(*syncd("render", "-c", str(cfg)))
        manifests = work / "all.yaml"
        manifests.write_text(rendered.stdout)
        apply = [kubectl, "--kubeconfig", str(kc), "apply", "-f", str(manifests), "--validate=false"]
        cold = run(*apply)
        assert cold.returncode == 0, "kubectl apply failed"
        cold_requests = verbs(emu)
        emu.reset_counts()
        steady = run(*apply)
        return {
            "services": size,
            "render_s": rendered.seconds,
            "apply_cold_s": cold.seconds,
            "apply_steady_s": steady.seconds,
            "steady_writes": writes(emu),
            "cold_requests": cold_requests,
            "steady_requests": verbs(emu),
        }


def bench_daemon(
    size: int, endpoints: int, work: Path, changes: int, adapter_options: dict[str, Any] | None = None
) -> dict[str, Any]:
    workload_entries = (adapter_options or {}).get("endpoint_mode") == "workloadentry"
    with KubeApiEmulator() as emu:
        kc = emu.write_kubeconfig(work / "kc-run")
        data = registry(size, endpoints)
        reg = write_json(work / "registry-run.json", data)
        port = _free_port()
        cfg = config(
            work / "config-run.yaml",
            reg,
            {"type": "kubernetes", "kubeconfig": str(kc)},
            adapter_options=adapter_options,
            server={"host": "127.0.0.1", "port": port},
            leader_election={"enabled": False},
        )
        proc = subprocess.Popen(
            syncd("run", "-c", str(cfg)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            started = time.perf_counter()
            _wait_ready(port, 300)
            cold_ready = time.perf_counter() - started
            time.sleep(3)
            emu.reset_counts()
            window = 10.0
            time.sleep(window)
            steady_requests = verbs(emu) or "none"
            steady_writes = writes(emu)
            steady_cycle, steady_cycle_requests = _steady_cycles(emu, port, reg)
            latencies = []
            for i in range(changes):
                svc = data["services"][(i * 7919) % size]
                endpoint = svc["endpoints"][(i * 7919) % endpoints if size == 1 else 0]
                endpoint["address"] = want = f"192.0.2.{i % 250 + 1}"
                emu.reset_counts()
                write_json(reg, data)
                t0 = time.perf_counter()  # the change exists once the file is replaced
                while time.perf_counter() - t0 < 30:
                    if _arrived(emu, svc["name"], want, workload_entries):
                        break
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - t0)
                time.sleep(1.2)  # beyond daemon.min_interval (1s), which spaces runs of one adapter
            cycle = _metric_mean(port, "syncd_reconcile_duration_seconds")
        finally:
            proc.terminate()
            proc.wait(20)
        latencies.sort()
        return {
            "services": size,
            "ready_after_s": cold_ready,
            f"requests_in_{window:.0f}s_steady": steady_requests,
            "steady_writes": steady_writes,
            "steady_cycle_s": steady_cycle,
            "steady_cycle_requests": steady_cycle_requests,
            "mean_cycle_s": cycle,
            "latency_p50_s": statistics.median(latencies),
            "latency_p99_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "changes": len(latencies),
        }


def _steady_cycles(emu: KubeApiEmulator, port: int, registry_file: Path, runs: int = 5) -> tuple[float, str]:
    """Cycles with nothing to do: the file is touched (same content), so the adapter reads it,
    render and plan run, and nothing is written. Mean of adapter read + reconcile, from /metrics."""
    names = ("syncd_adapter_cycle_duration_seconds", "syncd_reconcile_duration_seconds")
    before = [_metric_sums(port, n) for n in names]
    emu.reset_counts()
    for _ in range(runs):
        os.utime(registry_file)
        time.sleep(1.5)  # beyond daemon.min_interval (1s) plus the debounce
    after = [_metric_sums(port, n) for n in names]
    seconds = sum((a[0] - b[0]) / max(1.0, a[1] - b[1]) for a, b in zip(after, before, strict=True))
    return seconds, verbs(emu) or "none"


def _metric_sums(port: int, name: str) -> tuple[float, float]:
    """(sum, count) of a histogram over all its label sets."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = count = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_sum":
                total += sample.value
            elif sample.name == f"{name}_count":
                count += sample.value
    return total, count


def _arrived(emu: KubeApiEmulator, service: str, address: str, workload_entries: bool) -> bool:
    """The endpoint ``address`` of ``service`` is in the cluster (in its entry, or as a WorkloadEntry)."""
    if workload_entries:
        name = f"files-{service}-{address.replace('.', '-')}"
        return emu.get_object("workloadentries", NS, name) is not None
    obj = emu.get_object("serviceentries", NS, f"files-{service}")
    return obj is not None and any(e["address"] == address for e in obj["spec"].get("endpoints", []))


def bench_large(endpoints: int, work: Path, changes: int) -> list[dict[str, Any]]:
    """One service of ``endpoints`` endpoints as WorkloadEntries, against 4,000 inline (the CRD cap)."""
    inline = bench_sync(1, 4000, work, {"endpoint_mode": "inline"})
    entries = bench_sync(1, endpoints, work, {"endpoint_mode": "workloadentry"})
    run_ = bench_daemon(1, endpoints, work, changes, {"endpoint_mode": "workloadentry"})
    return [
        {"mode": "inline", "endpoints": 4000, **_large_row(inline), "run_p50_s": None, "run_p99_s": None},
        {
            "mode": "workloadentry",
            "endpoints": endpoints,
            **_large_row(entries),
            "run_p50_s": run_["latency_p50_s"],
            "run_p99_s": run_["latency_p99_s"],
        },
    ]


def _large_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "cold_s": row["cold_s"],
        "cold_rss_mb": row["cold_rss_mb"],
        "change_s": row["change_s"],
        "change_writes": row["change_writes"],
        "change_bytes": row["change_bytes"],
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("syncd run never became ready")


def _metric_mean(port: int, name: str) -> float | None:
    total, count = _metric_sums(port, name)
    return total / count if count else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--baseline-sizes", default="1000,10000", help="sizes also run through kubectl apply")
    parser.add_argument("--daemon-size", type=int, default=10000, help="0 skips the syncd run part")
    parser.add_argument("--changes", type=int, default=30, help="endpoint changes timed in syncd run")
    parser.add_argument(
        "--large-endpoints", type=int, default=20000, help="one service this big as WorkloadEntries; 0 skips"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    kubectl = shutil.which("kubectl")
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp:
        work = Path(tmp)
        rows = [bench_sync(n, args.endpoints, work) for n in sizes]
        if rows:
            print(f"\n## syncd sync, {args.endpoints} endpoints per service\n")
            print(table([{k: v for k, v in r.items() if not k.endswith("requests")} for r in rows]))
        for r in rows:
            print(f"  {r['services']}: cold requests: {r['cold_requests']}; steady: {r['steady_requests']}")
        if kubectl and args.baseline_sizes and rows:
            base = [
                bench_baseline(int(n), args.endpoints, work, kubectl) for n in args.baseline_sizes.split(",")
            ]
            print("\n## baseline: render once, kubectl apply -f (client-side apply)\n")
            print(table([{k: v for k, v in r.items() if not k.endswith("requests")} for r in base]))
            by_size = {r["services"]: r for r in rows}
            ratios = [
                {
                    "services": b["services"],
                    "cold syncd/baseline": by_size[b["services"]]["cold_s"] / b["apply_cold_s"],
                    "steady syncd/baseline": by_size[b["services"]]["steady_s"] / b["apply_steady_s"],
                }
                for b in base
                if b["services"] in by_size
            ]
            print()
            print(table(ratios))
            for b in base:
                print(
                    f"  {b['services']}: cold requests: {b['cold_requests']}; steady: {b['steady_requests']}"
                )
        elif not kubectl:
            print("\n(no kubectl on PATH: baseline skipped; `apt-get install kubernetes-client` provides it)")
        if args.daemon_size:
            print(f"\n## syncd run, {args.daemon_size} services (watch cache warm, file watch 50ms)\n")
            print(table([bench_daemon(args.daemon_size, args.endpoints, work, args.changes)]))
        if args.large_endpoints:
            print("\n## one large service: one endpoint changed (sync: one-shot; run: propagation)\n")
            print(table(bench_large(args.large_endpoints, work, max(5, args.changes // 3))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
