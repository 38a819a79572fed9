"""The adapter's config keys: defaults, environment defaults, validation, and a token that never shows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.consul import ConsulAdapter
from adapters.consul_settings import ConsulSettings
from syncd.adapter import load_adapter_type
from syncd.model import Protocol

SECRET = "00000000-aaaa-bbbb-cccc-secret000001"


def test_registered_under_the_consul_entry_point():
    assert load_adapter_type("consul") is ConsulAdapter
    assert ConsulAdapter.can_watch and ConsulAdapter.settings_model is ConsulSettings


def test_defaults():
    s = ConsulSettings()
    assert s.address == "http://127.0.0.1:8500" and s.display_address == "http://127.0.0.1:8500"
    assert s.token is None and s.verify and s.only_passing
    assert s.datacenters is None and s.datacenter_mode == "merge"
    assert s.host_template == "{service}.service.consul"
    assert s.include == ("*",) and s.exclude == ("consul",) and s.kinds() == {""}
    assert s.default_protocol is Protocol.TCP and s.wait == 300.0


def test_environment_supplies_address_and_token(monkeypatch):
    monkeypatch.setenv("CONSUL_HTTP_ADDR", "consul.internal:8501")
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", SECRET)
    s = ConsulSettings()
    assert s.display_address == "http://consul.internal:8501"
    assert s.token is not None and s.token.get_secret_value() == SECRET
    assert ConsulSettings(token_file="/run/token").token is None  # an explicit token_file wins


def test_the_token_never_shows(monkeypatch):
    s = ConsulSettings(token=SECRET)
    for text in (repr(s), str(s), s.model_dump(), s.model_dump_json()):
        assert SECRET not in str(text)
    with pytest.raises(ValidationError) as caught:
        ConsulSettings.model_validate({"token": SECRET, "token_file": "/t", "key_file": "/k"})
    assert SECRET not in str(caught.value)


def test_datacenters_forms():
    assert ConsulSettings(datacenters="all").datacenters == "all"
    assert ConsulSettings.model_validate({"datacenters": "dc2"}).datacenters == ("dc2",)
    assert ConsulSettings.model_validate({"datacenters": ["dc1", "dc2"]}).datacenters == ("dc1", "dc2")
    split = ConsulSettings(datacenters="all", datacenter_mode="split")
    assert split.host_template == "{service}.service.{datacenter}.consul"


def test_https_default_port_and_durations():
    s = ConsulSettings.model_validate({"address": "https://consul", "wait": "30s", "timeout": "1500ms"})
    assert s.display_address == "https://consul:8501" and s.wait == 30.0 and s.timeout == 1.5


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"address": "ftp://consul"}, "scheme must be http or https"),
        ({"address": "http://user:pw@consul"}, "credentials do not belong in the URL"),
        ({"address": "http://consul:8500/v1"}, "nothing after it"),
        ({"token": "a", "token_file": "/t"}, "either token or token_file"),
        ({"key_file": "/k"}, "key_file needs cert_file"),
        ({"cert_file": "/c", "verify": False}, "cert_file needs verify"),
        ({"wait": "11m"}, "at most 10m"),
        ({"wait": "0s"}, "more than 0"),
        ({"datacenters": []}, "at least one datacenter"),
        ({"datacenters": ["dc1", "dc1"]}, "unique"),
        ({"host": "{name}.consul"}, "unknown placeholder {name}"),
        ({"host": "{datacenter}.consul"}, "must use {service}"),
        ({"host": "{service}.{zone}.consul"}, "unknown placeholder {zone}"),
        ({"host": "{service!r}.consul"}, "unknown placeholder {service}"),
        ({"datacenter_mode": "split", "host": "{service}.consul"}, "must contain {datacenter}"),
        ({"datacenters": "all", "host": "{service}.{datacenter}.consul"}, "use datacenter_mode: split"),
        ({"default_protocol": "thrift"}, "unknown protocol"),
        ({"datacenter_mode": "both"}, "merge"),
        ({"adress": "http://x"}, "Extra inputs are not permitted"),
        ({"backoff_initial": "1m", "backoff_max": "30s"}, "backoff_initial"),
        ({"max_connections": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_settings_are_rejected(keys, message):
    with pytest.raises(ValidationError) as caught:
        ConsulSettings.model_validate(keys)
    assert message in str(caught.value)


def test_constructing_the_adapter_touches_no_network():
    adapter = ConsulAdapter("offline", ConsulSettings(address="http://192.0.2.1:1", datacenters="all"))
    assert adapter.name == "offline"
    adapter.close()
