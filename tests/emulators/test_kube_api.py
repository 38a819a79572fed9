"""The Kubernetes API emulator answers like kube-apiserver, checked through the official client."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.emulators.kube_api import KubeApiEmulator

G, V, P, NS = "networking.istio.io", "v1", "serviceentries", "istio-system"
JSON_PATCH = "application/json-patch+json"
Obj = dict[str, Any]


def entry(name: str, labels: dict[str, str] | None = None, ns: str = NS, host: str = "a.example.com") -> Obj:
    meta = {"name": name, "namespace": ns, "labels": labels or {}}
    return {"apiVersion": f"{G}/{V}", "kind": "ServiceEntry", "metadata": meta, "spec": {"hosts": [host]}}


@pytest.fixture
def api(kubeconfig: Path) -> Iterator[client.ApiClient]:
    with config.new_client_from_config(config_file=str(kubeconfig)) as api_client:
        yield api_client


@pytest.fixture
def crs(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def status_of(exc: pytest.ExceptionInfo[ApiException]) -> Obj:
    body: Obj = json.loads(exc.value.body)
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == exc.value.status
    return body


def raw(emu: KubeApiEmulator, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    return conn.getresponse()


def test_create_sets_server_fields_and_refuses_a_duplicate(crs: client.CustomObjectsApi) -> None:
    body, code, _ = crs.create_namespaced_custom_object_with_http_info(G, V, NS, P, entry("a"))
    meta = body["metadata"]
    assert code == 201 and body["kind"] == "ServiceEntry" and meta["generation"] == 1
    assert meta["uid"] and meta["resourceVersion"].isdigit() and meta["namespace"] == NS
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    with pytest.raises(ApiException) as exc:
        crs.create_namespaced_custom_object(G, V, NS, P, entry("a"))
    assert status_of(exc)["reason"] == "AlreadyExists" and exc.value.status == 409
    generated = crs.create_namespaced_custom_object(
        G, V, NS, P, {**entry(""), "metadata": {"generateName": "se-"}}
    )
    assert re.fullmatch(r"se-[a-z0-9]{5}", generated["metadata"]["name"])


@pytest.mark.parametrize(
    ("change", "code", "reason"),
    [
        ({"metadata": {}}, 422, "Invalid"),
        ({"metadata": {"name": "Bad_Name"}}, 422, "Invalid"),
        ({"metadata": {"name": "a", "labels": {"k": "bad value"}}}, 422, "Invalid"),
        ({"kind": "DestinationRule"}, 422, "Invalid"),
        ({"apiVersion": "other.example.com/v1"}, 400, "BadRequest"),
        ({"metadata": {"name": "a", "namespace": "elsewhere"}}, 400, "BadRequest"),
        ({"metadata": {"name": "a", "resourceVersion": "7"}}, 500, None),
    ],
)
def test_create_validates_like_the_server(
    crs: client.CustomObjectsApi, change: Obj, code: int, reason: str | None
) -> None:
    with pytest.raises(ApiException) as exc:
        crs.create_namespaced_custom_object(G, V, NS, P, {**entry("a"), **change})
    assert exc.value.status == code and status_of(exc).get("reason") == reason


def test_replace_needs_the_current_resource_version(crs: client.CustomObjectsApi) -> None:
    created = crs.create_namespaced_custom_object(G, V, NS, P, entry("a"))
    created["spec"]["hosts"] = ["b.example.com"]
    replaced = crs.replace_namespaced_custom_object(G, V, NS, P, "a", created)
    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert (
        replaced["metadata"]["generation"] == 2 and replaced["metadata"]["uid"] == created["metadata"]["uid"]
    )
    with pytest.raises(ApiException) as exc:  # created still carries the old resourceVersion
        crs.replace_namespaced_custom_object(G, V, NS, P, "a", created)
    assert status_of(exc)["reason"] == "Conflict"
    assert "the object has been modified; please apply your changes" in status_of(exc)["message"]
    del created["metadata"]["resourceVersion"]  # CRs have AllowUnconditionalUpdate() == false
    with pytest.raises(ApiException) as exc:
        crs.replace_namespaced_custom_object(G, V, NS, P, "a", created)
    assert exc.value.status == 422 and "must be specified for an update" in status_of(exc)["message"]
    same = crs.replace_namespaced_custom_object(G, V, NS, P, "a", replaced)
    assert (
        same["metadata"]["resourceVersion"] == replaced["metadata"]["resourceVersion"]
    )  # no-op: not written


def test_merge_patch_and_json_patch(crs: client.CustomObjectsApi, kube_api: KubeApiEmulator) -> None:
    crs.create_namespaced_custom_object(G, V, NS, P, entry("a", {"app": "web"}))
    merged = crs.patch_namespaced_custom_object(
        G, V, NS, P, "a", {"metadata": {"labels": {"app": None, "t": "x"}}}
    )
    assert merged["metadata"]["labels"] == {"t": "x"} and merged["metadata"]["generation"] == 1
    ops = [
        {"op": "test", "path": "/spec/hosts/0", "value": "a.example.com"},
        {"op": "add", "path": "/spec/hosts/-", "value": "b"},
    ]
    patched = crs.patch_namespaced_custom_object(G, V, NS, P, "a", ops, _content_type=JSON_PATCH)
    assert patched["spec"]["hosts"] == ["a.example.com", "b"] and patched["metadata"]["generation"] == 2
    with pytest.raises(
        ApiException
    ) as exc:  # the client sends a list body as merge-patch: 422 as in a cluster
        crs.patch_namespaced_custom_object(G, V, NS, P, "a", ops)
    assert exc.value.status == 422 and "couldn't get version/kind" in status_of(exc)["message"]
    with pytest.raises(ApiException) as exc:  # failed test op: the real server's generic 422
        failing = [{"op": "test", "path": "/spec/hosts/0", "value": "z"}]
        crs.patch_namespaced_custom_object(G, V, NS, P, "a", failing, _content_type=JSON_PATCH)
    assert status_of(exc)["message"] == "the server rejected our request due to an error in our request"
    stale = {"metadata": {"resourceVersion": merged["metadata"]["resourceVersion"]}, "spec": {"hosts": ["z"]}}
    with pytest.raises(ApiException) as exc:
        crs.patch_namespaced_custom_object(G, V, NS, P, "a", stale)
    assert status_of(exc)["reason"] == "Conflict"
    smp = "application/strategic-merge-patch+json"
    with pytest.raises(ApiException) as exc:
        crs.patch_namespaced_custom_object(G, V, NS, P, "a", {"spec": {}}, _content_type=smp)
    assert exc.value.status == 415 and status_of(exc)["reason"] == "UnsupportedMediaType"
    assert kube_api.get_object(P, NS, "a") == crs.get_namespaced_custom_object(G, V, NS, P, "a")


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("app=web", "a b"),
        ("app==web", "a b"),
        ("app!=web", "c d"),
        ("app in (web, db)", "a b c"),
        ("app notin (web)", "c d"),
        ("tier", "a c"),
        ("!tier", "b d"),
        ("app=web,tier=front", "a"),
        ("tier in (front,back),app", "a c"),
        ("", "a b c d"),
    ],
)
def test_label_selectors(
    crs: client.CustomObjectsApi, kube_api: KubeApiEmulator, selector: str, names: str
) -> None:
    for name, labels in [("a", "app=web,tier=front"), ("b", "app=web"), ("c", "app=db,tier=back"), ("d", "")]:
        kube_api.put_object(entry(name, dict(kv.split("=") for kv in labels.split(",") if kv)))
    listed = crs.list_namespaced_custom_object(G, V, NS, P, label_selector=selector)
    assert [item["metadata"]["name"] for item in listed["items"]] == names.split()


def test_field_selectors_and_bad_selectors(crs: client.CustomObjectsApi, kube_api: KubeApiEmulator) -> None:
    kube_api.put_object(entry("a"))
    kube_api.put_object(entry("b"))
    kube_api.put_object(entry("a", ns="other"))
    everywhere = crs.list_cluster_custom_object(G, V, P, field_selector="metadata.name=a")
    assert [i["metadata"]["namespace"] for i in everywhere["items"]] == [NS, "other"]
    here = crs.list_namespaced_custom_object(G, V, NS, P, field_selector="metadata.name!=a")
    assert [i["metadata"]["name"] for i in here["items"]] == ["b"]
    for bad in ({"label_selector": "app in (web"}, {"field_selector": "spec.hosts=x"}):
        with pytest.raises(ApiException) as exc:
            crs.list_namespaced_custom_object(G, V, NS, P, **bad)
        assert exc.value.status == 400


def test_list_metadata_and_pagination(crs: client.CustomObjectsApi, kube_api: KubeApiEmulator) -> None:
    for i in range(7):
        kube_api.put_object(entry(f"se-{i}"))
    first = crs.list_namespaced_custom_object(G, V, NS, P, limit=3)
    assert first["kind"] == "ServiceEntryList" and first["apiVersion"] == f"{G}/{V}"
    assert first["metadata"]["remainingItemCount"] == 4 and first["metadata"]["continue"]
    assert all(item["kind"] == "ServiceEntry" and item["apiVersion"] == f"{G}/{V}" for item in first["items"])
    names, page = [], first
    while True:
        names += [item["metadata"]["name"] for item in page["items"]]
        assert page["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
        if not page["metadata"].get("continue"):
            break
        page = crs.list_namespaced_custom_object(G, V, NS, P, limit=3, _continue=page["metadata"]["continue"])
    assert names == [f"se-{i}" for i in range(7)]


def test_delete_honours_preconditions(crs: client.CustomObjectsApi) -> None:
    meta = crs.create_namespaced_custom_object(G, V, NS, P, entry("a"))["metadata"]
    for wrong in ({"uid": "not-the-uid"}, {"resourceVersion": "1"}):
        with pytest.raises(ApiException) as exc:
            crs.delete_namespaced_custom_object(G, V, NS, P, "a", body={"preconditions": wrong})
        assert status_of(exc)["reason"] == "Conflict" and "Precondition failed" in status_of(exc)["message"]
    right = {"preconditions": {"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]}}
    done = crs.delete_namespaced_custom_object(G, V, NS, P, "a", body=right)
    assert done["status"] == "Success" and done["details"]["uid"] == meta["uid"]
    with pytest.raises(ApiException) as exc:
        crs.delete_namespaced_custom_object(G, V, NS, P, "a")
    assert status_of(exc)["reason"] == "NotFound"


def collect(w: watch.Watch, crs: client.CustomObjectsApi, count: int, **kwargs: Any) -> list[tuple[str, str]]:
    """The first ``count`` (type, name) events of a watch, then stop it."""
    seen: list[tuple[str, str]] = []
    for event in w.stream(crs.list_namespaced_custom_object, G, V, NS, P, timeout_seconds=5, **kwargs):
        seen.append((event["type"], event["raw_object"]["metadata"].get("name", "")))
        if len(seen) == count:
            w.stop()
    return seen


def test_watch_replays_history_and_filters_by_selector(
    crs: client.CustomObjectsApi, kube_api: KubeApiEmulator
) -> None:
    kube_api.put_object(entry("a", {"app": "web"}))
    rv = crs.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]
    crs.create_namespaced_custom_object(G, V, NS, P, entry("b", {"app": "web"}))
    crs.patch_namespaced_custom_object(G, V, NS, P, "a", {"metadata": {"labels": {"app": "db"}}})
    crs.delete_namespaced_custom_object(G, V, NS, P, "b")
    everything = collect(watch.Watch(), crs, 3, resource_version=rv)
    assert everything == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    web = collect(watch.Watch(), crs, 3, resource_version=rv, label_selector="app=web")
    assert web == [("ADDED", "b"), ("DELETED", "a"), ("DELETED", "b")]  # "a" left the selection


def test_watch_from_now_lists_first_then_streams(
    crs: client.CustomObjectsApi, kube_api: KubeApiEmulator
) -> None:
    kube_api.put_object(entry("a"))
    timer = threading.Timer(0.2, lambda: kube_api.put_object(entry("a", host="b.example.com")))
    timer.start()
    try:
        assert collect(watch.Watch(), crs, 2) == [("ADDED", "a"), ("MODIFIED", "a")]
    finally:
        timer.cancel()


def test_bookmarks(crs: client.CustomObjectsApi, kube_api: KubeApiEmulator) -> None:
    kube_api.bookmark_interval = 0.05
    kube_api.put_object(entry("a"))
    events = watch.Watch().stream(crs.list_namespaced_custom_object, G, V, NS, P, allow_watch_bookmarks=True)
    assert next(events)["type"] == "ADDED"
    bookmark = next(events)
    events.close()
    assert bookmark["type"] == "BOOKMARK"
    rv = crs.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]
    assert bookmark["raw_object"] == {
        "kind": "ServiceEntry",
        "apiVersion": f"{G}/{V}",
        "metadata": {"resourceVersion": rv},
    }


def test_expired_history_is_410_gone(crs: client.CustomObjectsApi, kube_api: KubeApiEmulator) -> None:
    rv = crs.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]
    kube_api.put_object(entry("a"))
    kube_api.expire_history()
    with pytest.raises(ApiException) as exc:
        collect(watch.Watch(), crs, 1, resource_version=rv)
    assert exc.value.status == 410 and "too old resource version" in str(exc.value.reason)
    fresh = crs.list_namespaced_custom_object(G, V, NS, P)["metadata"]["resourceVersion"]
    kube_api.put_object(entry("b"))
    assert collect(watch.Watch(), crs, 1, resource_version=fresh) == [("ADDED", "b")]


@pytest.mark.parametrize("flag", ["true", "True", "1"])
def test_watch_flag_spellings_over_raw_http(kube_api: KubeApiEmulator, flag: str) -> None:
    kube_api.put_object(entry("a"))
    resp = raw(kube_api, f"/apis/{G}/{V}/namespaces/{NS}/{P}?watch={flag}&timeoutSeconds=1")
    assert resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked"
    first = json.loads(resp.readline())
    assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "a"
    resp.close()
    assert kube_api.counts()["watch"] == 1


def test_timeout_seconds_ends_a_watch(crs: client.CustomObjectsApi) -> None:
    started = time.monotonic()
    events = list(watch.Watch().stream(crs.list_namespaced_custom_object, G, V, NS, P, timeout_seconds=1))
    assert events == [] and 1 <= time.monotonic() - started < 3


def test_a_token_is_required_when_set(tmp_path: Path) -> None:
    with KubeApiEmulator(token="s3cret") as emu:
        resp = raw(emu, f"/apis/{G}/{V}/namespaces/{NS}/{P}")
        assert resp.status == 401 and json.loads(resp.read())["reason"] == "Unauthorized"
        config.load_kube_config(config_file=str(emu.write_kubeconfig(tmp_path / "kc")))
        assert client.CustomObjectsApi().list_namespaced_custom_object(G, V, NS, P)["items"] == []
        assert client.VersionApi().get_code().git_version.startswith("v1.")


def test_leases_through_the_coordination_api(api: client.ApiClient) -> None:
    leases = client.CoordinationV1Api(api)
    spec = client.V1LeaseSpec(holder_identity="pod-a", lease_duration_seconds=15)
    lease = leases.create_namespaced_lease(
        NS, client.V1Lease(metadata=client.V1ObjectMeta(name="syncd"), spec=spec)
    )
    lease.spec.holder_identity = "pod-b"
    taken = leases.replace_namespaced_lease("syncd", NS, lease)
    assert taken.spec.holder_identity == "pod-b" and taken.metadata.generation is None
    with pytest.raises(ApiException) as exc:  # pod-a's copy is stale now
        leases.replace_namespaced_lease("syncd", NS, lease)
    assert exc.value.status == 409
    patched = leases.patch_namespaced_lease(
        "syncd", NS, {"spec": {"holderIdentity": "pod-c"}}
    )  # strategic merge
    assert patched.spec.holder_identity == "pod-c"
    fresh = client.V1Lease(metadata=client.V1ObjectMeta(name="other"), spec=spec)
    _, code, _ = leases.replace_namespaced_lease_with_http_info("other", NS, fresh)  # PUT creates a Lease
    assert code == 201


def test_discovery(api: client.ApiClient) -> None:
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert groups[G].preferred_version.version == "v1" and "coordination.k8s.io" in groups
    resources = client.CustomObjectsApi(api).get_api_resources(G, V).resources
    assert {r.name for r in resources} >= {P, f"{P}/status"} and all(r.namespaced for r in resources)


def test_faults_at_a_seeded_rate(crs: client.CustomObjectsApi, kube_api: KubeApiEmulator) -> None:
    kube_api.put_object(entry("a"))

    def outcomes() -> list[int]:
        kube_api.set_faults(0.5, kinds=["500"], seed=7, verbs=["get"])
        codes = []
        for _ in range(20):
            try:
                crs.get_namespaced_custom_object(G, V, NS, P, "a")
                codes.append(200)
            except ApiException as exc:
                codes.append(exc.status)
        return codes

    first = outcomes()
    assert first == outcomes() and 0 < first.count(200) < 20
    assert kube_api.faults_injected == 2 * first.count(500)
    kube_api.set_faults(1.0, kinds=["429"], retry_after=3, verbs=["create"])  # urllib3 would retry a GET
    with pytest.raises(ApiException) as exc:
        crs.create_namespaced_custom_object(G, V, NS, P, entry("b"))
    assert exc.value.status == 429 and exc.value.headers["Retry-After"] == "3"
    kube_api.set_faults(1.0, kinds=["409"], verbs=["get", "create"])
    crs.get_namespaced_custom_object(G, V, NS, P, "a")  # a read never gets a 409
    with pytest.raises(ApiException) as exc:
        crs.create_namespaced_custom_object(G, V, NS, P, entry("b"))
    assert status_of(exc)["reason"] == "Conflict"
    kube_api.set_faults(1.0, kinds=["reset"], verbs=["create"])
    with pytest.raises(urllib3.exceptions.HTTPError):  # POST is not retried by urllib3
        crs.create_namespaced_custom_object(G, V, NS, P, entry("b"))
    kube_api.set_faults(1.0, kinds=["slow"], slow_seconds=0.3)
    started = time.monotonic()
    crs.get_namespaced_custom_object(G, V, NS, P, "a")
    assert time.monotonic() - started >= 0.3
    kube_api.clear_faults()
    assert [o["metadata"]["name"] for o in kube_api.objects(P)] == ["a"]  # failed writes changed nothing


def test_counts_by_verb(crs: client.CustomObjectsApi, kube_api: KubeApiEmulator) -> None:
    created = crs.create_namespaced_custom_object(G, V, NS, P, entry("a"))
    crs.get_namespaced_custom_object(G, V, NS, P, "a")
    crs.list_namespaced_custom_object(G, V, NS, P)
    crs.replace_namespaced_custom_object(G, V, NS, P, "a", {**created, "spec": {"hosts": ["b.example.com"]}})
    crs.patch_namespaced_custom_object(G, V, NS, P, "a", {"spec": {"hosts": ["c.example.com"]}})
    crs.delete_namespaced_custom_object(G, V, NS, P, "a")
    counts = kube_api.counts()
    assert {
        verb: counts[verb] for verb in ("create", "get", "list", "update", "patch", "delete")
    } == dict.fromkeys(("create", "get", "list", "update", "patch", "delete"), 1)
    assert counts["watch"] == 0 and kube_api.bytes_written > len(json.dumps(entry("a")))
    assert [(r.verb, r.status) for r in kube_api.request_log][:2] == [("create", 201), ("get", 200)]
    kube_api.put_object(entry("b"))  # direct access is not counted
    kube_api.reset_counts()
    assert sum(kube_api.counts().values()) == 0 and kube_api.request_log == [] and kube_api.bytes_written == 0
