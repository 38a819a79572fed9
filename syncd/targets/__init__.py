"""Targets: where manifests go (kubernetes, directory, stdout) and dry run as a printing target.

Layer rule: imports syncd.plan and syncd.render; never adapters.
"""

from __future__ import annotations

from syncd.targets.base import ApplyResult, Target, TargetError
from syncd.targets.directory import DirectoryTarget
from syncd.targets.dry_run import DryRunTarget, describe
from syncd.targets.stdout import StdoutTarget, dump_manifests

__all__ = [
    "ApplyResult",
    "DirectoryTarget",
    "DryRunTarget",
    "StdoutTarget",
    "Target",
    "TargetError",
    "describe",
    "dump_manifests",
]
