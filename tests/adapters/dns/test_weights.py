"""SRV weights → endpoint weights (``spread_weights``): a target keeps its RFC 2782 share."""

from __future__ import annotations

import pytest

from adapters.dns_srv_mapping import MAX_SPLIT, spread_weights
from tests.adapters.dns.expect import MakeAdapter, endpoints, service
from tests.servers.bind import BindServer


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        ([], []),
        ([(5, 1), (15, 1)], [5, 15]),
        ([(0, 1), (0, 1)], [1, 1]),  # all 0: equal shares
        ([(0, 1), (10, 1)], [1, 10]),  # 0 next to non-zero: the smallest share Istio has
        ([(10, 2), (10, 1)], [10, 20]),  # per address: 2 x 10 = 1 x 20
        ([(3, 2), (1, 3)], [9, 2]),  # L = 6: 2 x 9 = 18 = 3 x 3 x 2
        ([(7, 3), (7, 3)], [7, 7]),  # same count everywhere: no split needed
        ([(1, MAX_SPLIT + 1), (1, 1)], [1, 1]),  # past the limit: no split
    ],
)
def test_spread_weights(targets: list[tuple[int, int]], expected: list[int]) -> None:
    assert spread_weights(targets) == expected


def test_weight_zero_next_to_weighted_targets(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_a("web2", "10.0.0.2")
    bind.add_srvs("_http._tcp.web", [(10, 0, 8080, "web1"), (10, 20, 8080, "web2")])

    assert endpoints(service(make_adapter().discover())) == {"10.0.0.1": (8080, 1), "10.0.0.2": (8080, 20)}


def test_all_weights_zero_write_no_weights(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_a("web2", "10.0.0.2")
    bind.add_srvs("_http._tcp.web", [(10, 0, 8080, "web1"), (10, 0, 8080, "web2")])

    assert endpoints(service(make_adapter().discover())) == {
        "10.0.0.1": (8080, None),
        "10.0.0.2": (8080, None),
    }
