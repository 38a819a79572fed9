"""Several datacenters: merged entries with per-endpoint locality, split entries, and failures."""

from __future__ import annotations

from tests.adapters.consul.conftest import addresses, register, services


def _two_datacenters(consul):
    consul.add_datacenter("dc2")
    register(consul, "web", 1, dc="dc1")
    register(consul, "web", 1, dc="dc2")
    register(consul, "web", 2, dc="dc2")
    register(consul, "db", 1, dc="dc2")


def test_default_is_the_agents_own_datacenter(consul, make_adapter):
    _two_datacenters(consul)
    found = services(make_adapter().discover())
    assert set(found) == {"web"}
    assert addresses(found["web"]) == ["10.1.0.1"]


def test_merge_makes_one_service_with_per_endpoint_locality(consul, make_adapter):
    _two_datacenters(consul)
    found = services(make_adapter(datacenters="all").discover())
    assert set(found) == {"web", "db"}
    web = found["web"]
    assert web.hosts == ("web.service.consul",)
    assert {e.address: e.locality for e in web.endpoints} == {
        "10.1.0.1": "dc1",
        "10.2.0.1": "dc2",
        "10.2.0.2": "dc2",
    }


def test_split_makes_one_service_per_datacenter(consul, make_adapter):
    _two_datacenters(consul)
    found = services(make_adapter(datacenters=["dc1", "dc2"], datacenter_mode="split").discover())
    assert set(found) == {"web-dc1", "web-dc2", "db-dc2"}
    assert found["web-dc2"].hosts == ("web.service.dc2.consul",)
    assert addresses(found["web-dc2"]) == ["10.2.0.1", "10.2.0.2"]


def test_a_datacenter_added_later_is_read_with_all(consul, make_adapter):
    register(consul, "web", 1)
    adapter = make_adapter(datacenters="all")
    assert addresses(services(adapter.discover())["web"]) == ["10.1.0.1"]
    consul.add_datacenter("dc3")
    register(consul, "web", 7, dc="dc3")
    web = services(adapter.discover())["web"]
    assert addresses(web) == ["10.1.0.1", "10.3.0.7"]
    assert {e.locality for e in web.endpoints} == {"dc1", "dc3"}


def test_watch_notices_a_new_datacenter(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter(datacenters="all"))

    def add_dc3():
        consul.add_datacenter("dc3")
        register(consul, "web", 7, dc="dc3")

    assert run.latency_of(add_dc3) < 2.0  # datacenter_refresh is 200ms in FAST
    assert addresses(services(run.adapter.discover())["web"]) == ["10.1.0.1", "10.3.0.7"]


def test_merge_fails_when_one_datacenter_fails(consul, make_adapter):
    _two_datacenters(consul)
    adapter = make_adapter(datacenters="all")
    assert adapter.discover().ok
    consul.fail_with(500, dc="dc2")
    snapshot = adapter.discover()
    assert not snapshot.ok
    assert snapshot.error.startswith("datacenter dc2: ") and "500" in snapshot.error


def test_unknown_datacenter_fails_merge(consul, make_adapter):
    register(consul, "web", 1)
    snapshot = make_adapter(datacenters=["dc1", "nowhere"]).discover()
    assert not snapshot.ok and "nowhere" in snapshot.error and "No path to datacenter" in snapshot.error


def test_split_marks_a_failed_datacenters_services_unknown(consul, make_adapter):
    _two_datacenters(consul)
    adapter = make_adapter(datacenters="all", datacenter_mode="split")
    consul.fail_with(500, dc="dc2")
    first = adapter.discover()
    assert not first.ok and "no earlier read" in first.error  # nothing names dc2's services yet
    consul.fail_with(None)
    assert set(services(adapter.discover())) == {"web-dc1", "web-dc2", "db-dc2"}
    consul.fail_with(500, dc="dc2")
    snapshot = adapter.discover()
    assert set(services(snapshot)) == {"web-dc1"}
    assert snapshot.unknown == {"web-dc2", "db-dc2"}
