"""Failures: an unreachable registry or an unexpected error fails the cycle (unknown, never empty);
a service deleted mid-cycle is gone while the others stay."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.cloudmap import CloudMapAdapter, CloudMapSettings
from tests.adapters.cloudmap.conftest import MakeAdapter, start_moto
from tests.adapters.cloudmap.proxy import CloudMapProxy
from tests.adapters.cloudmap.registry import REGION, Registry, addresses, by_name


def test_emulator_stopped_mid_run_fails_the_cycle(registry: Registry) -> None:
    server, url = start_moto()
    own = Registry(url)
    ns, ns_id = own.namespace()
    own.register(own.service(ns_id, "api"), "i-1", "10.0.0.1")
    settings = {"endpoint_url": url, "region": REGION, "namespaces": [ns], "timeout": "1s"}
    adapter = CloudMapAdapter(
        "cm", CloudMapSettings.model_validate({**settings, "retry": {"max_attempts": 2}})
    )
    try:
        assert addresses(by_name(adapter.discover())[f"api.{ns}"]) == ["10.0.0.1"]
    finally:
        server.stop()

    snapshot = adapter.discover()
    assert not snapshot.ok
    assert snapshot.services == ()
    assert "Could not connect to the endpoint URL" in (snapshot.error or "")
    assert "testing" not in (snapshot.error or "")  # no credential material in the reason
    adapter.close()


def test_service_deleted_between_list_and_discover(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    ns, ns_id = registry.namespace()
    api, web = registry.service(ns_id, "api"), registry.service(ns_id, "web")
    registry.register(api, "i-1", "10.0.0.1")
    registry.register(web, "i-2", "10.0.0.2")
    adapter = make_adapter(namespaces=[ns])
    assert set(by_name(adapter.discover())) == {f"api.{ns}", f"web.{ns}"}

    def delete_web(request: dict[str, Any]) -> None:
        if request.get("ServiceName") == "web":
            registry.deregister(web, "i-2")
            registry.delete_service(web)

    registry.register(web, "i-3", "10.0.0.3")  # revision moves: the next cycle reads web in full
    proxy.before("DiscoverInstancesRevision", delete_web)
    snapshot = adapter.discover()
    assert snapshot.ok, snapshot.error
    assert set(by_name(snapshot)) == {f"api.{ns}"}
    assert addresses(by_name(snapshot)[f"api.{ns}"]) == ["10.0.0.1"]


def test_service_deleted_before_its_first_discover(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    ns, ns_id = registry.namespace()
    api, web = registry.service(ns_id, "api"), registry.service(ns_id, "web")
    registry.register(api, "i-1", "10.0.0.1")
    registry.register(web, "i-2", "10.0.0.2")

    def delete_web(request: dict[str, Any]) -> None:
        if request.get("ServiceName") == "web":
            registry.delete_service(web)

    proxy.before("DiscoverInstances", delete_web)

    snapshot = make_adapter(namespaces=[ns]).discover()
    assert set(by_name(snapshot)) == {f"api.{ns}"}


@pytest.mark.parametrize("operation", ["ListNamespaces", "ListServices", "GetService", "DiscoverInstances"])
def test_access_denied_fails_the_cycle(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy, operation: str
) -> None:
    ns, ns_id = registry.namespace()
    registry.register(registry.service(ns_id, "api"), "i-1", "10.0.0.1")
    proxy.fail(operation, status=400, code="AccessDeniedException", message="not authorized")

    snapshot = make_adapter(namespaces=[ns]).discover()
    assert not snapshot.ok and snapshot.services == ()
    assert snapshot.error is not None
    assert snapshot.error.startswith(f"{operation}: AccessDeniedException: not authorized")
    assert "servicediscovery:DiscoverInstancesRevision" in snapshot.error


def test_missing_credentials_name_the_chain(
    registry: Registry, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    snapshot = make_adapter().discover()
    assert not snapshot.ok
    assert "no AWS credentials found" in (snapshot.error or "")
    assert "web identity / IRSA" in (snapshot.error or "")


def test_unknown_profile_fails_the_cycle_not_the_constructor(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(profile="does-not-exist")  # __init__ reads nothing
    snapshot = adapter.discover()
    assert not snapshot.ok
    assert "does-not-exist" in (snapshot.error or "")


def test_region_falls_back_to_aws_region(
    registry: Registry, make_adapter: MakeAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    ns, ns_id = registry.namespace()
    registry.register(registry.service(ns_id, "api"), "i-1", "10.0.0.1", AVAILABILITY_ZONE="us-east-1c")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)
    (endpoint,) = by_name(make_adapter(region=None, namespaces=[ns]).discover())[f"api.{ns}"].endpoints
    assert endpoint.locality == f"{REGION}/us-east-1c"

    monkeypatch.delenv("AWS_REGION")
    snapshot = make_adapter(region=None).discover()
    assert not snapshot.ok
    assert (snapshot.error or "").startswith("no AWS region: set the `region` key")
