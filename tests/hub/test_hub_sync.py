"""Sites sync through the hub: push, pull, convergence, cost that follows the difference."""

from __future__ import annotations

from haven.store.memory import MemoryStore
from tests.hub.network import HubProcess, Network, fake_rows, keys_of, sync


def test_two_sites_converge_through_the_hub_and_a_second_sync_moves_nothing(hub: HubProcess, network: Network) -> None:
    a, b = MemoryStore(), MemoryStore()
    a.merge(fake_rows(300))
    b.merge(fake_rows(200))
    first = sync(a, network.sites[0], hub.url)
    assert (first.pushed, first.pulled) == (300, 0)
    second = sync(b, network.sites[1], hub.url)
    assert (second.pushed, second.pulled) == (200, 300)
    third = sync(a, network.sites[0], hub.url)
    assert (third.pushed, third.pulled) == (0, 200)
    assert keys_of(a) == keys_of(b) and len(keys_of(a)) == 500
    again = sync(b, network.sites[1], hub.url)
    assert (again.pushed, again.pulled, again.buckets) == (0, 0, 0)
    assert again.requests == 1  # the roots agree: one exchange
