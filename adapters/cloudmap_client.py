"""The five Cloud Map calls the adapter makes, with retries, backoff and error classification.

Errors come out as two kinds: :class:`ServiceGone` (ServiceNotFound / NamespaceNotFound on a
discover call: the service was deleted after it was listed) and :class:`CloudMapError`
(anything else: the cycle fails and nothing is deleted). Messages carry the operation, the
AWS error code and message, never credentials.

Retries happen on two levels. botocore retries each request (``retry.mode`` /
``retry.max_attempts``; throttling and transient errors, jittered exponential backoff). A
request still throttled after that gets ``retry.throttle_rounds`` more rounds here, each after a
full-jitter wait of up to ``backoff * 2**n`` (capped at ``backoff_max``), so a burst against
Cloud Map's request quota slows the cycle down instead of failing it.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import botocore.loaders
import botocore.session
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from adapters.cloudmap_settings import CREDENTIAL_CHAIN_HELP, CloudMapSettings, RetrySettings

if TYPE_CHECKING:
    from mypy_boto3_servicediscovery.client import ServiceDiscoveryClient
    from mypy_boto3_servicediscovery.literals import HealthStatusFilterType
    from mypy_boto3_servicediscovery.type_defs import (
        HttpInstanceSummaryTypeDef,
        NamespaceSummaryTypeDef,
        ServiceSummaryTypeDef,
    )

log = structlog.get_logger(__name__)

T = TypeVar("T")
P = TypeVar("P", bound=Mapping[str, Any])

THROTTLING_CODES = frozenset(
    {
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
GONE_CODES = frozenset({"ServiceNotFound", "NamespaceNotFound"})
PAGE_SIZE = 100  # the most ListNamespaces / ListServices return per page
MAX_INSTANCES = 1000  # the most DiscoverInstances returns; it has no pagination
IAM_ACTIONS = (
    "servicediscovery:ListNamespaces",
    "servicediscovery:ListServices",
    "servicediscovery:GetService",
    "servicediscovery:DiscoverInstances",
    "servicediscovery:DiscoverInstancesRevision",
)


class CloudMapError(Exception):
    """Cloud Map could not be read this cycle. The message is safe to log and report."""


class ServiceGone(Exception):
    """A discover call said the service (or its namespace) no longer exists."""


# Parsed botocore data files (service model, endpoint rules), shared by every client: parsing
# them costs ~0.1-0.3 s of CPU per client otherwise. Loaders only cache read-only data.
_LOADER = botocore.loaders.create_loader()


def make_client(settings: CloudMapSettings) -> ServiceDiscoveryClient:
    """A servicediscovery client on the standard credential chain. Reads no network."""
    config = Config(
        retries={"mode": settings.retry.mode, "total_max_attempts": settings.retry.max_attempts},
        connect_timeout=settings.timeout,
        read_timeout=settings.timeout,
        max_pool_connections=max(10, settings.concurrency),
        user_agent_extra="syncd",
        # DiscoverInstances* go to data-servicediscovery.<region>; an emulator has no such host.
        inject_host_prefix=settings.endpoint_url is None,
    )
    try:
        session = botocore.session.Session(profile=settings.profile)
        session.register_component("data_loader", _LOADER)
        # botocore reads AWS_DEFAULT_REGION and the profile; AWS_REGION (Lambda, EKS) only as a fallback here.
        region = settings.region or session.get_config_variable("region") or os.environ.get("AWS_REGION")
        client = session.create_client(
            "servicediscovery", region_name=region, endpoint_url=settings.endpoint_url, config=config
        )
    except NoRegionError:
        raise CloudMapError(
            "no AWS region: set the `region` key, AWS_DEFAULT_REGION / AWS_REGION, or the profile's region"
        ) from None
    except BotoCoreError as exc:
        raise CloudMapError(f"cannot create the Cloud Map client: {exc}") from None
    return cast("ServiceDiscoveryClient", client)


class CloudMapApi:
    """Typed wrappers over the client; every call goes through :meth:`_call`."""

    def __init__(self, client: ServiceDiscoveryClient, retry: RetrySettings) -> None:
        self.client = client
        self._retry = retry

    @property
    def region(self) -> str:
        return str(self.client.meta.region_name or "")

    def namespaces(self) -> list[NamespaceSummaryTypeDef]:
        """Every namespace the credentials can see, all pages."""
        found: list[NamespaceSummaryTypeDef] = []
        for page in self._pages("ListNamespaces", lambda more: self.client.list_namespaces(**more)):
            found.extend(page.get("Namespaces", []))
        return found

    def services(self, namespace_id: str | None) -> tuple[list[ServiceSummaryTypeDef], int]:
        """Services of one namespace (every service when None), all pages; and the page count.

        Summaries do not say which namespace a service is in, and some emulators ignore the
        filter, so the caller confirms each service's namespace with :meth:`namespace_of`.
        """
        scope: dict[str, Any] = {}
        if namespace_id is not None:
            scope["Filters"] = [{"Name": "NAMESPACE_ID", "Values": [namespace_id], "Condition": "EQ"}]
        found: list[ServiceSummaryTypeDef] = []
        pages = 0
        for page in self._pages("ListServices", lambda more: self.client.list_services(**scope, **more)):
            pages += 1
            found.extend(page.get("Services", []))
        return found, pages

    def namespace_of(self, service_id: str) -> str | None:
        """The namespace Id of a service (GetService); None when the service no longer exists."""
        try:
            answer = self._call("GetService", lambda: self.client.get_service(Id=service_id), gone_is_ok=True)
        except ServiceGone:
            return None
        return answer.get("Service", {}).get("NamespaceId")

    def discover(
        self, namespace: str, service: str, health: HealthStatusFilterType, query: dict[str, str]
    ) -> tuple[list[HttpInstanceSummaryTypeDef], int | None]:
        """The instances of one service (HealthStatus always sent) and the instances revision."""
        extra: dict[str, Any] = {"QueryParameters": query} if query else {}
        answer = self._call(
            "DiscoverInstances",
            lambda: self.client.discover_instances(
                NamespaceName=namespace,
                ServiceName=service,
                HealthStatus=health,
                MaxResults=MAX_INSTANCES,
                **extra,
            ),
            gone_is_ok=True,
        )
        instances = answer.get("Instances", [])
        if len(instances) >= MAX_INSTANCES:
            log.warning("cloudmap_instances_truncated", namespace=namespace, service=service)
        return instances, answer.get("InstancesRevision")

    def revision(self, namespace: str, service: str) -> int | None:
        """The service's instances revision: one small call that says whether anything was (de)registered."""
        answer = self._call(
            "DiscoverInstancesRevision",
            lambda: self.client.discover_instances_revision(NamespaceName=namespace, ServiceName=service),
            gone_is_ok=True,
        )
        return answer.get("InstancesRevision")

    def _pages(self, operation: str, request: Callable[[dict[str, Any]], P]) -> Iterator[P]:
        """Every page of a listing. Each page is retried on its own, so a throttled page 7 does
        not restart the listing (which is why this is not botocore's paginator)."""
        seen: set[str] = set()
        more: dict[str, Any] = {"MaxResults": PAGE_SIZE}
        while True:
            page = self._call(operation, lambda: request(dict(more)))
            yield page
            token = page.get("NextToken")
            if not isinstance(token, str) or not token:
                return
            if token in seen:
                raise CloudMapError(f"{operation}: the same NextToken came back twice; listing aborted")
            seen.add(token)
            more["NextToken"] = token

    def _call(self, operation: str, request: Callable[[], T], *, gone_is_ok: bool = False) -> T:
        rounds = 0
        while True:
            try:
                return request()
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = str(error.get("Code", ""))
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if gone_is_ok and code in GONE_CODES:
                    raise ServiceGone(code) from None
                throttled = code in THROTTLING_CODES or status == 429
                if not throttled:
                    raise CloudMapError(_describe(operation, code, str(error.get("Message", "")))) from None
                if rounds >= self._retry.throttle_rounds:
                    raise CloudMapError(
                        f"{operation}: still throttled ({code or status}) after "
                        f"{rounds + 1} rounds of {self._retry.max_attempts} attempts"
                    ) from None
                delay = random.uniform(0, min(self._retry.backoff_max, self._retry.backoff * 2**rounds))
                rounds += 1
                log.info("cloudmap_throttled", operation=operation, code=code, round=rounds, delay=delay)
                time.sleep(delay)
            except NoCredentialsError:
                raise CloudMapError(
                    f"{operation}: no AWS credentials found; {CREDENTIAL_CHAIN_HELP}"
                ) from None
            except BotoCoreError as exc:
                raise CloudMapError(f"{operation}: {exc}") from None


def _describe(operation: str, code: str, message: str) -> str:
    text = f"{operation}: {code}: {message}" if message else f"{operation}: {code}"
    if code in ("AccessDenied", "AccessDeniedException"):
        text += f" (syncd needs {', '.join(IAM_ACTIONS)})"
    return text
