"""Config keys: defaults, validation, and no credentials in config. Offline: no server needed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adapters.cloudmap import CloudMapAdapter, CloudMapSettings
from syncd.adapter import load_adapter_type
from syncd.model import Protocol


def settings(**keys: Any) -> CloudMapSettings:
    return CloudMapSettings.model_validate(keys)


def error_of(**keys: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        settings(**keys)
    return str(caught.value)


def test_registered_under_the_cloudmap_entry_point() -> None:
    assert load_adapter_type("cloudmap") is CloudMapAdapter
    assert CloudMapAdapter.settings_model is CloudMapSettings


def test_defaults() -> None:
    s = settings()
    assert (s.region, s.profile, s.endpoint_url, s.namespaces) == (None, None, None, None)
    assert (s.include, s.exclude) == (("*",), ())
    assert s.health_status == "HEALTHY"
    assert s.query_parameters == {}
    assert s.host == "{service}.{namespace}"
    assert s.protocol is Protocol.TCP
    assert s.default_port is None
    assert (s.full_refresh, s.timeout, s.concurrency) == (300.0, 10.0, 4)
    assert (s.retry.mode, s.retry.max_attempts, s.retry.throttle_rounds) == ("standard", 5, 2)
    assert (s.retry.backoff, s.retry.backoff_max) == (1.0, 20.0)


def test_every_key_parses() -> None:
    s = settings(
        region="eu-west-1",
        profile="prod",
        endpoint_url="http://localhost:4566",
        namespaces=["example.local"],
        include=["api*"],
        exclude=["*-canary"],
        health_status="healthy_or_else_all",
        query_parameters={"stage": "prod"},
        host="{service}.mesh.{namespace}",
        protocol="h2",
        default_port=443,
        full_refresh="10m",
        timeout="3s",
        concurrency=8,
        retry={
            "mode": "adaptive",
            "max_attempts": 3,
            "throttle_rounds": 0,
            "backoff": "250ms",
            "backoff_max": "5s",
        },
    )
    assert s.health_status == "HEALTHY_OR_ELSE_ALL"
    assert s.protocol is Protocol.HTTP2
    assert (s.full_refresh, s.retry.backoff) == (600.0, 0.25)


@pytest.mark.parametrize("key", ["access_key", "secret_key", "aws_secret_access_key", "Session_Token"])
def test_credentials_in_config_are_refused(key: str) -> None:
    message = error_of(**{key: "AKIAVERYSECRETVALUE"})
    assert "standard AWS credential chain" in message
    assert "IRSA" in message
    assert repr(key) in message
    assert "AKIAVERYSECRETVALUE" not in message  # the secret is never echoed


def test_unknown_keys_are_errors_without_echoing_values() -> None:
    message = error_of(colour="SECRET-ISH")
    assert "colour" in message and "Extra inputs are not permitted" in message
    assert "SECRET-ISH" not in message


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        ({"host": "{service}.{region}"}, "unknown placeholder {region}"),
        ({"host": "{namespace}"}, "must use {service}"),
        ({"host": "{service!r}.x"}, "unknown placeholder"),
        ({"host": "{service}_x.{namespace}"}, "not a DNS name"),
        ({"host": "{service"}, "host template"),
        ({"protocol": "carrier-pigeon"}, "unknown protocol"),
        ({"health_status": "UNHEALTHY"}, "health_status"),
        ({"namespaces": []}, "at least one namespace"),
        ({"namespaces": ["a.local", "a.local"]}, "unique"),
        ({"endpoint_url": "localhost:4566"}, "http:// or https://"),
        ({"endpoint_url": "http://user:pw@localhost:4566"}, "must not carry user or password"),
        ({"default_port": 0}, "1-65535"),
        ({"region": "us east 1"}, "AWS region"),
        ({"include": [""]}, "must not be empty"),
        ({"full_refresh": "soon"}, "invalid duration"),
        ({"concurrency": 0}, "concurrency"),
        ({"retry": {"max_attempts": 0}}, "max_attempts"),
        ({"retry": {"mode": "legacy"}}, "mode"),
        ({"query_parameters": {"": "x"}}, "query_parameters"),
    ],
)
def test_invalid_values_name_the_key(keys: dict[str, Any], fragment: str) -> None:
    assert fragment in error_of(**keys)


def test_constructor_touches_no_network() -> None:
    adapter = CloudMapAdapter("cm", settings(endpoint_url="http://127.0.0.1:9", profile="nowhere"))
    adapter.close()
