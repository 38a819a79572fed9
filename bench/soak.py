"""Soak: `syncd run` under steady churn, bounded in time, reporting RSS growth and error counts.

    python -m bench.soak --minutes 10 --services 500

Every second one service is registered or deregistered (and one endpoint moved) in the file
registry; the Kubernetes API emulator serves the target. Samples the daemon's RSS every 10 s and
counts its error log lines; at the end checks the cluster equals the registry.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.harness import config, registry, syncd, table, write_json
from tests.emulators.kube_api import KubeApiEmulator

NS = "istio-system"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="syncd-soak-") as tmp, KubeApiEmulator() as emu:
        work = Path(tmp)
        data = registry(args.services, 3)
        pool = data["services"]
        reg = write_json(work / "registry.json", data)
        port = 18000 + rng.randrange(1000)
        cfg = config(
            work / "config.yaml",
            reg,
            {"type": "kubernetes", "kubeconfig": str(emu.write_kubeconfig(work / "kc"))},
            server={"host": "127.0.0.1", "port": port},
            leader_election={"enabled": False},
        )
        proc = subprocess.Popen(
            syncd("run", "-c", str(cfg)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        levels: dict[str, int] = {}

        def read_logs() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                try:
                    level = json.loads(line).get("level", "?")
                except ValueError:
                    level = "unparsed"
                levels[level] = levels.get(level, 0) + 1

        threading.Thread(target=read_logs, daemon=True).start()
        time.sleep(5)
        samples = [
            {"t_s": 0.0, "rss_mb": rss_mb(proc.pid), "objects": len(emu.objects("serviceentries", NS))}
        ]
        parked: list[dict[str, Any]] = []
        started = time.monotonic()
        end = started + args.minutes * 60
        next_sample = started + 10
        changes = 0
        while time.monotonic() < end and proc.poll() is None:
            if parked and (rng.random() < 0.5 or len(pool) < args.services // 2):
                pool.append(parked.pop())
            else:
                parked.append(pool.pop(rng.randrange(len(pool))))
            victim = pool[rng.randrange(len(pool))]
            victim["endpoints"][0]["address"] = f"192.0.2.{rng.randrange(1, 250)}"
            write_json(reg, data)
            changes += 1
            time.sleep(1.0)
            if time.monotonic() >= next_sample:
                next_sample += 10
                samples.append(
                    {
                        "t_s": time.monotonic() - started,
                        "rss_mb": rss_mb(proc.pid),
                        "objects": len(emu.objects("serviceentries", NS)),
                    }
                )
        time.sleep(3)
        alive = proc.poll() is None
        want = {"files-" + s["name"] for s in pool}
        have = {o["metadata"]["name"] for o in emu.objects("serviceentries", NS)}
        proc.terminate()
        proc.wait(20)
    print(table(samples[:: max(1, len(samples) // 12)] + samples[-1:]))
    print()
    print(
        table(
            [
                {
                    "minutes": args.minutes,
                    "changes": changes,
                    "daemon_alive": alive,
                    "rss_start_mb": samples[0]["rss_mb"],
                    "rss_end_mb": samples[-1]["rss_mb"],
                    "rss_growth_mb": samples[-1]["rss_mb"] - samples[0]["rss_mb"],
                    "error_lines": levels.get("error", 0),
                    "warning_lines": levels.get("warning", 0),
                    "converged": want == have,
                }
            ]
        )
    )
    return 0 if alive and want == have else 1


if __name__ == "__main__":
    sys.exit(main())
