"""The rules each blocking loop follows, tested without sleeping: rate limit, backoff, change detection."""

from __future__ import annotations

import random
import time

from adapters.consul import build_snapshot
from adapters.consul_map import DcRead, MapOptions, ServiceView, view_from_health
from adapters.consul_settings import ConsulSettings
from adapters.consul_watch import TokenBucket, WatchCache, backoff
from syncd.model import Dropped
from tests.adapters.consul.conftest import register


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_of_two_then_one_per_interval():
    clock = FakeClock()
    bucket = TokenBucket(2, 5.0, clock)
    assert [bucket.delay(), bucket.delay()] == [0.0, 0.0]
    assert bucket.delay() == 5.0  # the third request in a row waits a whole interval
    clock.now += 5.0  # ... which it did
    assert bucket.delay() == 5.0
    clock.now += 60.0  # a quiet minute refills the burst, and no more than the burst
    assert [bucket.delay(), bucket.delay(), bucket.delay()] == [0.0, 0.0, 5.0]


def test_backoff_doubles_with_jitter_up_to_the_cap():
    rng = random.Random(7)
    for failures, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (100, 30.0)]:
        for _ in range(20):
            assert ceiling / 2 <= backoff(failures, 0.5, 30.0, rng) <= ceiling


def _view(name: str, *dropped: str) -> ServiceView:
    return ServiceView("dc1", name, (), tuple(Dropped("a", name, d, "r") for d in dropped))


def test_cache_wakes_once_when_complete_then_only_on_change():
    cache = WatchCache()
    assert cache.reads() is None
    assert cache.set_datacenters(["dc1"]) == (["dc1"], [], False)
    added, removed, wake = cache.catalog_ok("dc1", frozenset({"web", "db"}))
    assert (added, removed, wake) == ({"web", "db"}, frozenset(), False)
    reads = cache.reads()
    assert reads is not None and reads[0].pending == {"web", "db"}  # known, not yet read: unknown
    assert cache.view_ok("dc1", _view("web")) is False  # still waiting for db
    assert cache.view_ok("dc1", _view("db")) is True  # complete: the one priming wake
    assert cache.view_ok("dc1", _view("db")) is False  # same content: no wake
    assert cache.view_ok("dc1", _view("db", "label x")) is True
    cache.view_failed("dc1", "web", "boom")
    assert cache.reads()[0].failed == {"web": "boom"}
    assert cache.view_ok("dc1", _view("web")) is False  # recovered unchanged: nothing to do
    assert cache.catalog_ok("dc1", frozenset({"web"}))[1:] == ({"db"}, True)  # removal wakes


def test_cache_ignores_answers_for_services_no_longer_selected():
    cache = WatchCache()
    cache.set_datacenters(["dc1"])
    cache.catalog_ok("dc1", frozenset({"web"}))
    assert cache.view_ok("dc1", _view("gone")) is False
    assert cache.view_ok("dc2", _view("web")) is False
    assert "gone" not in cache.reads()[0].views


def test_a_churning_service_degrades_to_a_rate_limited_poll(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter(watch_rate_limit="250ms", watch_jitter="0s"))
    consul.reset_counters()
    deadline = time.monotonic() + 1.0
    flip = 0
    while time.monotonic() < deadline:
        flip += 1
        register(consul, "web", 1, Meta={"flip": str(flip)})
        time.sleep(0.005)
    # ~150 changes in a second; the loop's bucket allows 2 at once plus one per 250ms.
    assert flip > 100
    assert consul.requests["/v1/health/service"] <= 2 + 4 + 2
    assert len(run.wakes) <= 10


def test_snapshot_reuses_services_whose_views_did_not_change():
    opts = MapOptions(adapter="a")

    def view(name: str, address: str) -> ServiceView:
        entry = {
            "Node": {"Node": "n", "Address": address},
            "Service": {"Service": name, "Port": 80},
            "Checks": [],
        }
        return view_from_health(opts, "dc1", name, [entry])

    memo: dict = {}
    web, db = view("web", "10.0.0.1"), view("db", "10.0.0.2")
    first = build_snapshot(ConsulSettings(), opts, [DcRead("dc1", views={"web": web, "db": db})], {}, memo)
    db2 = view("db", "10.0.0.3")
    second = build_snapshot(ConsulSettings(), opts, [DcRead("dc1", views={"web": web, "db": db2})], {}, memo)
    by_name = {s.name: s for s in first.services}
    again = {s.name: s for s in second.services}
    assert again["web"] is by_name["web"]  # same view object: not assembled again
    assert again["db"] is not by_name["db"] and again["db"].endpoints[0].address == "10.0.0.3"
    assert set(memo) == {"web", "db"}
