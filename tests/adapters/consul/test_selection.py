"""Which services and instances are synced: globs, required tags, a Consul filter, namespaces."""

from __future__ import annotations

from tests.adapters.consul.conftest import addresses, register, services


def test_include_and_exclude_globs(consul, make_adapter):
    for name in ("consul", "web", "web-admin", "api", "db"):
        register(consul, name, 1)
    assert set(services(make_adapter().discover())) == {"web", "web-admin", "api", "db"}  # consul excluded
    adapter = make_adapter(include=["web*", "api"], exclude=["*-admin"])
    assert set(services(adapter.discover())) == {"web", "api"}


def test_required_tags_select_services_and_instances(consul, make_adapter):
    register(consul, "web", 1, Tags=["mesh", "v1"])
    register(consul, "web", 2, Tags=["v1"])
    register(consul, "db", 1, Tags=["v1"])
    found = services(make_adapter(tags=["mesh"]).discover())
    assert set(found) == {"web"}
    assert addresses(found["web"]) == ["10.1.0.1"]


def test_filter_expression_is_passed_to_consul(consul, make_adapter):
    register(consul, "web", 1, Meta={"env": "prod"})
    register(consul, "web", 2, Meta={"env": "staging"})
    register(consul, "batch", 1, Meta={"env": "staging"})
    adapter = make_adapter(filter='Service.Meta.env == "prod"')
    found = services(adapter.discover())
    assert set(found) == {"web"}  # a service with no matching instance is not synced
    assert addresses(found["web"]) == ["10.1.0.1"]
    assert consul.requests["/v1/health/service"] == 2


def test_invalid_filter_fails_the_read_with_consuls_reason(consul, make_adapter):
    register(consul, "web", 1)
    snapshot = make_adapter(filter="Service.Meta.env ==").discover()
    assert not snapshot.ok
    assert "400" in snapshot.error and "boolean expression" in snapshot.error


def test_namespace_and_partition_are_passed_through(consul, make_adapter):
    register(consul, "web", 1)
    register(consul, "web", 2, Namespace="team-a", Partition="eu")
    found = services(make_adapter(namespace="team-a", partition="eu").discover())
    assert addresses(found["web"]) == ["10.1.0.2"]
    assert found["web"].hosts == ("web.service.consul",)
    templated = make_adapter(namespace="team-a", partition="eu", host="{service}.{namespace}.ns.consul")
    assert services(templated.discover())["web"].hosts == ("web.team-a.ns.consul",)
