"""The ``syncd`` command: parse arguments, load config, run one command, map outcomes to exit codes.

Exit codes (DESIGN.md): 0 ok; 1 an adapter or a write failed (the rest still applied);
2 bad config or usage. Problems are log lines and messages, never tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from syncd import __version__, logs, runtime
from syncd.build import build_adapters, build_target
from syncd.config import Config, ConfigError, default_config_path, load_config
from syncd.engine import CycleReport, Engine
from syncd.plan import Changes
from syncd.render import Manifest
from syncd.targets import ApplyResult, TargetError, dump_manifests

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = structlog.get_logger("syncd")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "-c",
        "--config",
        type=Path,
        default=None,
        help="config file (default: $SYNCD_CONFIG, then ./config.yaml)",
    )
    common.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    common.add_argument(
        "--log-format",
        default="auto",
        choices=["auto", "json", "console"],
        help="auto: JSON lines unless stderr is a terminal",
    )
    parser = _Parser(prog="syncd", description="Sync service registries into Istio ServiceEntries.")
    parser.add_argument("--version", action="version", version=f"syncd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sync = sub.add_parser("sync", parents=[common], help="run one full cycle, then exit")
    sync.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    sync.add_argument("--force", action="store_true", help="apply deletes beyond safety.max_delete_percent")
    sub.add_parser("run", parents=[common], help="run as a long-lived daemon")
    sub.add_parser("render", parents=[common], help="print the desired manifests as YAML")
    sub.add_parser("check-config", parents=[common], help="validate the config file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    runtime.tune_gc()
    logs.configure(args.log_level, args.log_format)
    path: Path = args.config or default_config_path()
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"config error: {logs.redact_text(problem)}\n")
        log.error("config_invalid", path=str(path), problems=len(exc.problems))
        return EXIT_USAGE
    try:
        if args.command == "check-config":
            print(f"{path}: ok ({len(config.adapters)} adapters, target {config.target.type})")
            return EXIT_OK
        if args.command == "render":
            return _render(config)
        if args.command == "sync":
            return _sync(config, dry_run=args.dry_run, force=args.force)
        return _run(config, path)
    except TargetError as exc:
        log.error("target_unavailable", error=logs.redact_text(str(exc)))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception as exc:  # the promise is no traceback; the details go to debug logs
        log.error("internal_error", error=logs.redact_text(f"{type(exc).__name__}: {exc}"))
        log.debug("internal_error_detail", exc_info=True)
        return EXIT_FAILED


def _render(config: Config) -> int:
    adapters = build_adapters(config)
    engine = Engine(config, adapters, _NoTarget())
    try:
        snapshots = engine.collect()
        rendered = engine.render(snapshots)
    finally:
        engine.close()
    dump_manifests([obj.body for r in rendered for obj in r.objects], sys.stdout)
    failed = any(not s.ok for s in snapshots) or any(r.refused for r in rendered)
    return EXIT_FAILED if failed else EXIT_OK


def _sync(config: Config, *, dry_run: bool, force: bool) -> int:
    engine = Engine(config, build_adapters(config), build_target(config, dry_run=dry_run), force=force)
    try:
        report = engine.cycle()
    finally:
        engine.close()
    _summarise(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def _run(config: Config, path: Path) -> int:
    """The long-running daemon (docs/daemon.md): 0 after a clean shutdown on SIGTERM/SIGINT."""
    from syncd.daemon import run_daemon  # lazily: the one-shot commands need no scheduler

    return run_daemon(config, path)


def _summarise(report: CycleReport) -> None:
    result = report.result
    log.info(
        "cycle_done",
        ok=report.ok,
        created=sum(c.action == "create" for c in result.done),
        updated=sum(c.action == "update" for c in result.done),
        deleted=sum(c.action == "delete" for c in result.done),
        failed_writes=len(result.failed),
        failed_adapters=[s.adapter for s in report.failed_adapters],
    )


class _NoTarget:
    """``render`` touches no target."""

    def list_owned(self, owner: str) -> list[Manifest]:
        return []

    def apply(self, changes: Changes) -> ApplyResult:
        raise AssertionError("render never applies")

    def close(self) -> None:
        pass
