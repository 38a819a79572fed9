"""Logs: JSON lines when not a TTY, levels filter, and secrets never printed."""

from __future__ import annotations

import io
import json
import logging

import structlog

from syncd import logs


def capture(level: str = "info") -> io.StringIO:
    stream = io.StringIO()
    logs.configure(level, "auto", stream)
    return stream


def test_json_lines_and_level_filter() -> None:
    stream = capture("warning")
    log = structlog.get_logger("t")
    log.info("hidden")
    log.warning("shown", adapter="a")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["event"], e["level"], e["adapter"]) for e in lines] == [("shown", "warning", "a")]


def test_secret_keys_and_known_secret_values_are_masked() -> None:
    stream = capture("debug")
    logs.register_secrets(["s3cr3t-token-value"])
    log = structlog.get_logger("t")
    log.info(
        "connect",
        token="abc",
        headers={"X-Consul-Token": "abc", "Accept": "json"},
        error="403 for token s3cr3t-token-value",
        items=["s3cr3t-token-value"],
    )
    logging.getLogger("urllib3").warning("retrying with s3cr3t-token-value")
    text = stream.getvalue()
    assert "s3cr3t-token-value" not in text and '"abc"' not in text
    event = json.loads(text.splitlines()[0])
    assert event["token"] == "***" and event["headers"] == {"X-Consul-Token": "***", "Accept": "json"}
    assert event["error"] == "403 for token ***"
    assert "retrying with ***" in text
