"""A ServiceEntry and its DestinationRules are planned together: appear, change, go, win and lose."""

from __future__ import annotations

import copy

import pytest

from syncd.model import Protocol, Service, ServicePort
from syncd.plan import AdapterState, plan
from syncd.render import Desired, RenderSettings, render_snapshot
from syncd.render.destination_rule import TlsSettings, TrafficPolicy
from syncd.render.validate import validate_manifest
from tests.factories import NAMESPACE, OWNER, as_owned, service, snapshot

TLS = TrafficPolicy(tls=TlsSettings("SIMPLE"))
MTLS = TrafficPolicy(tls=TlsSettings("ISTIO_MUTUAL"))
WEB = service("web", "10.0.0.1")
WEB2 = service("web", "10.0.0.1", "10.0.0.2")
API = service("api", "10.0.1.1")
DB = service("db", "10.0.2.1")


def render(adapter: str, *services: Service, tp: TrafficPolicy | None = TLS) -> tuple[Desired, ...]:
    rendered = render_snapshot(
        snapshot(adapter, *services), RenderSettings(OWNER, NAMESPACE, traffic_policy=tp)
    )
    for obj in rendered.objects:
        assert validate_manifest(obj.body) == []
    return rendered.objects


def owned(*objects: Desired) -> list[dict]:
    return [as_owned(o) for o in objects]


def keys(changes: tuple) -> list[str]:
    return [f"{c.kind}/{c.name}" for c in changes]


def test_entry_and_rule_appear_together() -> None:
    changes = plan([AdapterState("a", True, render("a", WEB))], [], owner=OWNER)
    assert keys(changes.create) == ["DestinationRule/a-web", "ServiceEntry/a-web"]
    assert {c.reason for c in changes.create} == {"new in registry"}


def test_steady_state_writes_nothing() -> None:
    objects = render("a", WEB, API)
    assert not plan([AdapterState("a", True, objects)], owned(*objects), owner=OWNER)


@pytest.mark.parametrize(
    ("before", "after", "updated"),
    [
        ((WEB, TLS), (WEB2, TLS), ["ServiceEntry/a-web"]),
        ((WEB, TLS), (WEB, MTLS), ["DestinationRule/a-web"]),
        (
            (WEB, TLS),
            (service("web", "10.0.0.1", host="www.example.com"), TLS),
            ["DestinationRule/a-web", "ServiceEntry/a-web"],
        ),
    ],
    ids=["endpoint-added", "policy-changed", "host-changed"],
)
def test_each_object_changes_only_when_its_own_spec_does(
    before: tuple, after: tuple, updated: list[str]
) -> None:
    have = owned(*render("a", before[0], tp=before[1]))
    changes = plan([AdapterState("a", True, render("a", after[0], tp=after[1]))], have, owner=OWNER)
    assert keys(changes.update) == updated and not changes.create and not changes.delete


def test_entry_and_rule_go_together_entry_first() -> None:
    have = owned(*render("a", WEB, API, DB))
    changes = plan([AdapterState("a", True, render("a", API, DB))], have, owner=OWNER)
    assert keys(changes.delete) == ["ServiceEntry/a-web", "DestinationRule/a-web"]
    assert {c.reason for c in changes.delete} == {"gone from registry"}


def test_switching_the_policy_off_deletes_only_rules_outside_the_delete_guard() -> None:
    have = owned(*render("a", WEB, API))
    changes = plan(
        [AdapterState("a", True, render("a", WEB, API, tp=None))], have, owner=OWNER, max_delete_percent=0
    )
    assert keys(changes.delete) == ["DestinationRule/a-api", "DestinationRule/a-web"]
    assert not changes.refusals and not changes.create and not changes.update
    assert all("no longer rendered" in c.reason for c in changes.delete)


def test_switching_the_policy_on_creates_rules_for_synced_services() -> None:
    have = owned(*render("a", WEB, tp=None))
    changes = plan([AdapterState("a", True, render("a", WEB))], have, owner=OWNER)
    assert keys(changes.create) == ["DestinationRule/a-web"]
    assert changes.create[0].reason == "new for a synced service"


def test_registry_loss_still_counts_rules_in_the_delete_guard() -> None:
    have = owned(*render("a", WEB, API, DB))
    changes = plan([AdapterState("a", True, render("a", DB))], have, owner=OWNER)
    assert not changes.delete and changes.refusals[0].deletes == 4 and changes.refusals[0].owned == 6


def test_kept_services_keep_their_rules() -> None:
    have = owned(*render("a", WEB, API))
    state = AdapterState("a", True, render("a", API, tp=None), keep=frozenset({"web"}))
    changes = plan([state], have, owner=OWNER, max_delete_percent=100)
    assert keys(changes.delete) == ["DestinationRule/a-api"]


def test_failed_adapter_keeps_everything() -> None:
    changes = plan(
        [AdapterState("a", False)], owned(*render("a", WEB, API)), owner=OWNER, max_delete_percent=100
    )
    assert not changes


def test_entry_and_rule_of_one_service_never_conflict_with_each_other() -> None:
    multi = Service("web", ("web.example.com", "www.example.com"), (ServicePort(80, Protocol.HTTP),))
    objects = render("a", multi)
    assert len(objects) == 3
    changes = plan([AdapterState("a", True, objects)], [], owner=OWNER)
    assert not changes.conflicts and len(changes.create) == 3


def test_a_host_conflict_loser_loses_its_rules_too() -> None:
    rival = service("web", "10.9.9.9", origin="b")
    changes = plan(
        [AdapterState("a", True, render("a", WEB)), AdapterState("b", True, render("b", rival))],
        [],
        owner=OWNER,
    )
    assert keys(changes.create) == ["DestinationRule/a-web", "ServiceEntry/a-web"]
    assert [(c.host, c.winner, c.loser) for c in changes.conflicts] == [("web.example.com", "a", "b")]


def test_losing_one_host_loses_the_rules_of_every_host() -> None:
    multi = Service("both", ("web.example.com", "other.example.com"), (ServicePort(80, Protocol.HTTP),))
    states = [AdapterState("a", True, render("a", WEB)), AdapterState("b", True, render("b", multi))]
    changes = plan(states, owned(*render("b", multi)), owner=OWNER, max_delete_percent=100)
    assert keys(changes.create) == ["DestinationRule/a-web", "ServiceEntry/a-web"]
    assert keys(changes.delete) == [
        "ServiceEntry/b-both",
        "DestinationRule/b-both-other-example-com",
        "DestinationRule/b-both-web-example-com",
    ]
    assert all("belongs to adapter 'a'" in c.reason for c in changes.delete)


def test_a_kept_rule_of_a_failed_adapter_still_holds_its_host() -> None:
    rules = [o for o in render("a", WEB) if o.kind == "DestinationRule"]  # the entry was lost, say
    rival = service("web", "10.9.9.9", origin="b")
    states = [AdapterState("a", False), AdapterState("b", True, render("b", rival))]
    changes = plan(states, owned(*rules), owner=OWNER)
    assert not changes.create and [c.loser for c in changes.conflicts] == ["b"]


def test_a_foreign_rule_for_the_same_host_is_never_touched() -> None:
    mine = render("a", WEB)
    foreign = as_owned(next(o for o in mine if o.kind == "DestinationRule"))
    foreign["metadata"]["labels"] = {"app": "hand-written"}
    other_owner = copy.deepcopy(foreign)
    other_owner["metadata"]["name"] = "legacy-tls"
    other_owner["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "syncd", "syncd.io/owner": "else"}
    changes = plan([AdapterState("a", True, mine)], [foreign, other_owner], owner=OWNER)
    # Ours is planned as a create; the kubernetes target finds the foreign one (409) and leaves it.
    assert keys(changes.create) == ["DestinationRule/a-web", "ServiceEntry/a-web"]
    assert not changes.update and not changes.delete and not changes.conflicts
