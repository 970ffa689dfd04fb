"""A small per-process cache whose entries expire a fixed time after they were stored.

Serving's resolutions and the verified API tokens use it: a change made through any server
(an alias moved, a token revoked) is seen everywhere within `ttl` seconds, without a
database round trip per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any

MISSING: Any = object()


class TTLCache:
    """key -> value for `ttl` seconds. Reads take no lock (a dict lookup is atomic); past
    `max_size` entries the whole cache is dropped, so a flood of distinct keys cannot grow it."""

    def __init__(self, ttl: float, max_size: int = 10_000) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._items: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value stored for `key`, or MISSING if there is none or it expired."""
        hit = self._items.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return MISSING

    def set(self, key: Hashable, value: Any) -> None:
        with self._lock:
            if len(self._items) > self.max_size:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
