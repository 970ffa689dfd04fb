"""registry/ttl.py: the one TTL cache (serving's resolutions, verified API tokens)."""

from registry import ttl


def test_it_returns_a_value_until_it_expires(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(ttl.time, "monotonic", lambda: now[0])
    cache = ttl.TTLCache(1.0)
    cache.set("a", None)  # None is a value (an unknown token), not a miss
    assert cache.get("a") is None
    now[0] += 0.99
    assert cache.get("a") is None
    now[0] += 0.02
    assert cache.get("a") is ttl.MISSING
    assert cache.get("b") is ttl.MISSING


def test_it_drops_everything_on_clear_and_past_its_size():
    cache = ttl.TTLCache(60.0, max_size=2)
    for key in "abc":
        cache.set(key, key)
    assert [cache.get(k) for k in "abc"] == ["a", "b", "c"]
    cache.set("d", "d")  # past max_size: the whole cache goes, then d is stored
    assert [cache.get(k) for k in "abcd"] == [ttl.MISSING] * 3 + ["d"]
    cache.clear()
    assert cache.get("d") is ttl.MISSING
