"""Test helpers: build Cloud Map state straight against moto, and read snapshots."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from botocore.config import Config

from syncd.model import Service, Snapshot

REGION = "us-east-1"


class Registry:
    """Builds Cloud Map state directly against moto (not through the proxy, so nothing is counted)."""

    def __init__(self, url: str, region: str = REGION) -> None:
        self.client = boto3.client(
            "servicediscovery", endpoint_url=url, region_name=region, config=Config(inject_host_prefix=False)
        )

    def namespace(self, prefix: str = "ns", *, dns: bool = False) -> tuple[str, str]:
        """A fresh namespace with a unique name like ``ns-1a2b3c4d.local``; returns (name, id)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}.local"
        if dns:
            op = self.client.create_private_dns_namespace(Name=name, Vpc="vpc-12345")["OperationId"]
        else:
            op = self.client.create_http_namespace(Name=name)["OperationId"]
        targets = self.client.get_operation(OperationId=op)["Operation"]["Targets"]
        return name, targets["NAMESPACE"]

    def service(self, namespace_id: str, name: str, *, health: bool = False, **extra: Any) -> str:
        if health:
            extra["HealthCheckCustomConfig"] = {"FailureThreshold": 1}
        return self.client.create_service(Name=name, NamespaceId=namespace_id, **extra)["Service"]["Id"]

    def register(
        self,
        service_id: str,
        instance_id: str,
        ip: str | None = None,
        port: int | None = 80,
        **attributes: str,
    ) -> None:
        attrs = dict(attributes)
        if ip is not None:
            attrs["AWS_INSTANCE_IPV4"] = ip
        if port is not None:
            attrs["AWS_INSTANCE_PORT"] = str(port)
        self.client.register_instance(ServiceId=service_id, InstanceId=instance_id, Attributes=attrs)

    def deregister(self, service_id: str, instance_id: str) -> None:
        self.client.deregister_instance(ServiceId=service_id, InstanceId=instance_id)

    def set_health(self, service_id: str, instance_id: str, status: str) -> None:
        self.client.update_instance_custom_health_status(
            ServiceId=service_id,
            InstanceId=instance_id,
            Status=status,  # type: ignore[arg-type]
        )

    def delete_service(self, service_id: str) -> None:
        self.client.delete_service(Id=service_id)


def by_name(snapshot: Snapshot) -> dict[str, Service]:
    assert snapshot.ok, snapshot.error
    return {service.name: service for service in snapshot.services}


def addresses(service: Service) -> list[str]:
    return sorted(endpoint.address for endpoint in service.endpoints)
