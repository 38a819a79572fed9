"""Plan: desired vs owned → Changes (create / update / delete, each with a reason). Pure.

Layer rule: imports syncd.render (for manifest identity) and nothing that does I/O.
"""

from syncd.plan.changes import AdapterState, Change, Changes, Conflict, Refusal
from syncd.plan.owned import Owned, OwnedMemo, is_owned, key_of, rv_of
from syncd.plan.planner import POLICIES, plan

__all__ = [
    "POLICIES",
    "AdapterState",
    "Change",
    "Changes",
    "Conflict",
    "Owned",
    "OwnedMemo",
    "Refusal",
    "is_owned",
    "key_of",
    "plan",
    "rv_of",
]
