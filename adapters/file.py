"""The ``file`` adapter: services described in a YAML or JSON file, like Prometheus file_sd for the mesh.

The file is the registry. A file that cannot be read or parsed fails the adapter (its entries
stay); a single bad service is reported and kept as it was; a bad endpoint is dropped and reported.
See docs/adapters/file.md for the format.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import structlog
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.file_json import JsonRecordsReader
from syncd import yamlio
from syncd.adapter import Adapter, AdapterSettings
from syncd.model import (
    Dropped,
    Endpoint,
    Location,
    Resolution,
    Service,
    ServicePort,
    Snapshot,
    is_dns_name,
    is_ip,
    parse_protocol,
    sanitize_labels,
    valid_port,
)
from syncd.model.durations import Duration

log = structlog.get_logger(__name__)


class FileSettings(AdapterSettings):
    """``path``: the registry file (YAML or JSON); ``watch_interval``: how often ``syncd run`` stats it."""

    path: Path
    watch_interval: Duration = 1.0


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _PortRecord(_Record):
    number: int
    protocol: str = "TCP"


class _EndpointRecord(_Record):
    address: str
    port: int | None = None
    ports: dict[str, int] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    locality: str | None = None
    weight: int | None = None
    network: str | None = None


class _ServiceRecord(_Record):
    name: str
    hosts: list[str] = Field(min_length=1)
    ports: list[_PortRecord] = Field(min_length=1)
    endpoints: list[_EndpointRecord] = Field(default_factory=list)
    location: Location | None = None
    resolution: Resolution | None = None


# A record's name (if it has one), its service (None: invalid, keep the old entry), what was dropped.
_Mapped = tuple[str | None, Service | None, tuple[Dropped, ...]]


class FileAdapter(Adapter):
    """Reads services from a file on every cycle; watches its modification time in ``syncd run``."""

    settings_model: ClassVar[type[AdapterSettings]] = FileSettings
    can_watch: ClassVar[bool] = True

    def __init__(self, name: str, settings: AdapterSettings) -> None:
        super().__init__(name, settings)
        assert isinstance(settings, FileSettings)
        self._settings = settings
        self._last: tuple[tuple[int, ...], Snapshot] | None = None
        self._memo: dict[Any, tuple[Any, _Mapped]] = {}
        # Re-parses only the changed part of a JSON file and returns unchanged records as the same
        # objects, which the memo then recognises by identity.
        self._json_reader = JsonRecordsReader()

    def discover(self) -> Snapshot:
        """Read and map the file; an unchanged file (same stat) returns the previous snapshot object."""
        path = self._settings.path
        stamp = _stamp(path)
        if stamp is not None and self._last is not None and self._last[0] == stamp:
            return self._last[1]
        with _gc_paused():
            snapshot = self._read(path)
        self._last = (stamp, snapshot) if stamp is not None and snapshot.ok else None
        return snapshot

    def _read(self, path: Path) -> Snapshot:
        try:
            text = path.read_text(encoding="utf-8")
            parsed = self._json_reader.parse(text) if path.suffix == ".json" else None
            if parsed is not None:
                data: Any = {"services": parsed}
            else:
                data = json.loads(text) if path.suffix == ".json" else yamlio.load(text)
        except (OSError, UnicodeDecodeError) as exc:
            return Snapshot.failed(self.name, f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
        except (ValueError, yaml.YAMLError) as exc:
            return Snapshot.failed(self.name, f"{path} is not valid {_format_name(path)}: {exc}")
        except RecursionError:
            return Snapshot.failed(self.name, f"{path} is not valid {_format_name(path)}: nested too deeply")
        if data is None:
            data = {"services": []}
        if not isinstance(data, dict) or set(data) - {"services"}:
            return Snapshot.failed(
                self.name, f"{path}: the top level must be a mapping with one key, services"
            )
        records = data.get("services") or []
        if not isinstance(records, list):
            return Snapshot.failed(self.name, f"{path}: services must be a list")
        return self._snapshot(records)

    def _snapshot(self, records: list[Any]) -> Snapshot:
        services: dict[str, Service] = {}
        unknown: set[str] = set()
        dropped: list[Dropped] = []
        memo: dict[Any, tuple[Any, _Mapped]] = {}
        for index, raw in enumerate(records):
            # Unchanged records map to the same values: a big file with one edit costs one mapping.
            key = raw.get("name", index) if isinstance(raw, dict) else index
            key = key if isinstance(key, (str, int)) else index
            previous = self._memo.get(key)
            # Identity first: records the JSON reader did not re-parse are the very same objects.
            if previous is not None and (previous[0] is raw or previous[0] == raw):
                mapped = previous[1]
            else:
                mapped = self._map(raw, index)
            memo[key] = (raw, mapped)
            name, service, drops = mapped
            dropped.extend(drops)
            if service is not None and service.name in services:
                dropped.append(Dropped(self.name, service.name, "service", "duplicate service name"))
            elif service is not None:
                services[service.name] = service
            elif name is not None:
                unknown.add(name)  # keep what we had: a typo must not delete an entry
        self._memo = memo
        return Snapshot(
            adapter=self.name,
            services=tuple(services.values()),
            unknown=frozenset(unknown - set(services)),
            dropped=tuple(dropped),
        )

    def _map(self, raw: Any, index: int) -> _Mapped:
        name = raw.get("name") if isinstance(raw, dict) else None
        name = name if isinstance(name, str) else None
        try:
            record = _ServiceRecord.model_validate(raw)
        except ValidationError as exc:
            return (
                name,
                None,
                (Dropped(self.name, name or f"services[{index}]", "service", _first_error(exc)),),
            )
        dropped: list[Dropped] = []
        return record.name, self._service(record, dropped), tuple(dropped)

    def _service(self, record: _ServiceRecord, dropped: list[Dropped]) -> Service | None:
        ports: list[ServicePort] = []
        for port in record.ports:
            protocol = parse_protocol(port.protocol)
            if protocol is None or not valid_port(port.number):
                dropped.append(
                    Dropped(self.name, record.name, "port", f"invalid port {port.number}/{port.protocol}")
                )
                return None
            ports.append(ServicePort(port.number, protocol))
        by_name = {p.name: p.number for p in ports}
        endpoints = []
        for ep in record.endpoints:
            endpoint = self._endpoint(record.name, ep, ports, by_name, dropped)
            if endpoint is not None:
                endpoints.append(endpoint)
        return Service(
            name=record.name,
            hosts=tuple(record.hosts),
            ports=tuple(ports),
            endpoints=tuple(endpoints),
            location=record.location,
            resolution=record.resolution,
            origin=self.name,
        )

    def _endpoint(
        self,
        service: str,
        ep: _EndpointRecord,
        ports: list[ServicePort],
        by_name: Mapping[str, int],
        dropped: list[Dropped],
    ) -> Endpoint | None:
        def drop(reason: str) -> None:
            dropped.append(Dropped(self.name, service, f"endpoint {ep.address}", reason))

        if not (is_ip(ep.address) or is_dns_name(ep.address)):
            drop("address is neither an IP address nor a DNS name")
            return None
        port_map: dict[int, int] = {}
        if ep.port is not None:
            if len(ports) != 1:
                drop("`port` needs a service with exactly one port; use `ports`")
                return None
            port_map[ports[0].number] = ep.port
        for key, number in ep.ports.items():
            service_port = by_name.get(key) or (int(key) if key.isdigit() else None)
            if service_port not in {p.number for p in ports}:
                drop(f"ports key {key!r} is not a port of the service")
                return None
            assert service_port is not None
            port_map[service_port] = number
        bad = [n for n in port_map.values() if not valid_port(n)]
        if bad:
            drop(f"invalid port number {bad[0]}")
            return None
        labels = sanitize_labels(ep.labels)
        for pair in labels.dropped:
            dropped.append(Dropped(self.name, service, f"label {pair}", "not valid Kubernetes label syntax"))
        return Endpoint(
            address=ep.address,
            ports={k: v for k, v in port_map.items() if k != v},
            labels=labels.labels,
            locality=ep.locality,
            weight=ep.weight,
            network=ep.network,
        )

    def watch(self, wake: Callable[[], None], stop: threading.Event) -> None:
        last = _stamp(self._settings.path)
        while not stop.wait(self._settings.watch_interval):
            current = _stamp(self._settings.path)
            if current != last:
                last = current
                log.debug("file_changed", adapter=self.name, path=str(self._settings.path))
                wake()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing a big registry allocates a million acyclic objects; the cyclic collector would
    rescan everything alive several times over while it runs (seen: 0.25 s reads taking 0.9 s)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _stamp(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino


def _format_name(path: Path) -> str:
    return "JSON" if path.suffix == ".json" else "YAML"


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"
