"""The connection caps' rules (the server under them: tests/acceptance/test_peer_limits.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from vidgate.api.connection_table import ConnectionTable, peer_key


@dataclass(eq=False)
class Connection:
    peer: str
    idle: bool = True
    evicted: bool = field(default=False, init=False)

    def evict(self) -> None:
        self.evicted = True


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
        ("::1", "::1"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        (None, ""),
        ("", ""),
    ],
)
def test_peer_keys(host: str | None, key: str) -> None:
    assert peer_key(host) == key


def test_a_peer_past_its_cap_loses_its_oldest_idle_connection() -> None:
    table = ConnectionTable(per_peer=3, total=100)
    busy, old, young = Connection("a", idle=False), Connection("a"), Connection("a")
    other = Connection("b")
    for connection in (busy, old, young, other):
        table.add(connection)
    newest = Connection("a")
    table.add(newest)
    assert old.evicted and not (busy.evicted or young.evicted or other.evicted)
    assert table.count("a") == 3 and len(table) == 4
    assert not table.crowded(newest)


def test_a_peer_with_nothing_idle_is_crowded_until_one_ends() -> None:
    table = ConnectionTable(per_peer=2, total=100)
    streams = [Connection("a", idle=False) for _ in range(2)]
    for connection in streams:
        table.add(connection)
    newest = Connection("a")
    table.add(newest)
    assert not any(c.evicted for c in [*streams, newest])  # never the new one, never a busy one
    assert table.crowded(newest) and not table.crowded(Connection("b"))
    table.discard(streams[0])
    table.discard(streams[0])  # a second discard (connection_lost after eviction) is harmless
    assert not table.crowded(newest) and len(table) == 2


def test_past_the_cap_in_all_the_heaviest_peer_gives_way() -> None:
    table = ConnectionTable(per_peer=10, total=5)
    light = Connection("light")
    heavy = [Connection("heavy") for _ in range(3)]
    busy = Connection("busy", idle=False)
    for connection in (light, *heavy, busy):
        table.add(connection)
    table.add(Connection("new"))
    assert heavy[0].evicted and not light.evicted
    assert len(table) == 5 and table.count("heavy") == 2


def test_past_the_cap_in_all_with_nothing_idle_every_peer_is_crowded() -> None:
    table = ConnectionTable(per_peer=10, total=2)
    for peer in ("a", "b"):
        table.add(Connection(peer, idle=False))
    newest = Connection("c")
    table.add(newest)
    assert len(table) == 3 and table.crowded(newest)
