"""Secrets never leak: a known Consul token and AWS secret are grepped for in every byte a run prints,
at debug level, in --dry-run output, in failures and in config errors."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cli.helpers import syncd
from tests.emulators.consul_api import AclPolicy, ConsulEmulator

TOKEN = "b1gs3cr3t-7c0f-4d2a-9e11-consul-token"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz-secret"


def everything(*results) -> str:
    return "".join(r.stdout + r.stderr for r in results)


def test_consul_token_never_printed(tmp_path: Path) -> None:
    consul = ConsulEmulator("dc1", acl={TOKEN: AclPolicy()}).start()
    try:
        consul.register(
            "dc1", {"Node": "n1", "Address": "10.0.0.1"}, {"Service": "web", "ID": "w1", "Port": 80}
        )
        out = tmp_path / "out"
        (tmp_path / "token").write_text(TOKEN + "\n")
        configs = {
            "env": {
                "name": "consul",
                "type": "consul",
                "address": consul.address,
                "token": "${CONSUL_TOKEN}",
            },
            "file": {
                "name": "consul",
                "type": "consul",
                "address": consul.address,
                "token_file": str(tmp_path / "token"),
            },
        }
        results = []
        for label, adapter in configs.items():
            config = tmp_path / f"{label}.yaml"
            config.write_text(
                yaml.safe_dump({"target": {"type": "directory", "path": str(out)}, "adapters": [adapter]})
            )
            env = {"CONSUL_TOKEN": TOKEN}
            results.append(syncd("sync", "-c", str(config), "--log-level", "debug", "--dry-run", env=env))
            results.append(syncd("sync", "-c", str(config), "--log-level", "debug", env=env))
            results.append(syncd("render", "-c", str(config), "--log-level", "debug", env=env))
            assert all(r.returncode == 0 for r in results[-3:]), results[-1].stderr
            consul.set_acl({"another-token": AclPolicy()})  # now ours is refused: 403 paths
            denied = syncd("sync", "-c", str(config), "--log-level", "debug", env=env)
            assert denied.returncode == 1 and "adapter_failed" in denied.stderr
            results.append(denied)
            consul.stop()  # connection errors carry URLs and headers in some libraries
            results.append(syncd("sync", "-c", str(config), "--log-level", "debug", env=env))
            consul.start()
            consul.set_acl({TOKEN: AclPolicy()})
        assert "create ServiceEntry/consul-web" in everything(*results)
        assert TOKEN not in everything(*results)
    finally:
        consul.stop()


def test_secret_in_a_broken_config_is_not_echoed(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "adapters": [
                    {"name": "consul", "type": "consul", "token": {"nested": TOKEN}},
                    {"name": "aws", "type": "cloudmap", "region": "eu-west-1", "secret_key": AWS_SECRET},
                ]
            }
        )
    )
    result = syncd("check-config", "-c", str(config))
    assert result.returncode == 2
    assert "adapters[0].token" in result.stderr and "adapters[1]" in result.stderr
    assert TOKEN not in everything(result) and AWS_SECRET not in everything(result)
