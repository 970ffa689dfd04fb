"""Loaded pipelines: read, verified and loaded once per version, kept in an LRU bounded by
bytes (MLSERVE_MODEL_CACHE_MB), each with its single-row plan (plan.py), compiled at load.
A ready version never changes, so the key (its id and artifact digest) never goes stale.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from django.conf import settings

import numpyml
from registry.errors import ModelTooLarge, NotFound
from registry.models import ModelVersion
from registry.monitoring import metrics
from registry.serving.plan import Plan, build_plan
from registry.serving.resolve import ServedVersion, forget_resolutions


def model_budget_bytes() -> int:
    """The memory one loaded model may take (the whole of a server's model cache)."""
    return settings.MLSERVE_MODEL_CACHE_MB * 1024 * 1024


def too_large_message(what: str, size: int, verb: str = "takes") -> str:
    return (
        f"{what} {verb} {size / 2**20:,.1f} MB in memory, more than the "
        f"{settings.MLSERVE_MODEL_CACHE_MB} MB a server keeps for loaded models "
        "(MLSERVE_MODEL_CACHE_MB)"
    )


def loaded_bytes(pipeline: Any) -> int:
    """Memory a loaded pipeline holds, as the model cache counts it."""
    return _nbytes(pipeline)


def _nbytes(obj: Any, depth: int = 0) -> int:
    """Memory held by an object's numpy arrays, walking nested estimators and containers."""
    if depth > 32:
        return 0
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(_nbytes(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v, depth + 1) for v in obj)
    if hasattr(obj, "__dict__") and type(obj).__module__.startswith("numpyml"):
        return 512 + _nbytes(vars(obj), depth + 1)
    return 0


class ArtifactError(Exception):
    """A stored artifact failed its integrity check."""


class PipelineCache:
    """LRU of loaded pipelines keyed by version id, bounded by their bytes in memory."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[int, str], tuple[Any, Plan | None, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = self.misses = self.evictions = self.refused = 0

    def get(self, served: ServedVersion) -> Any:
        return self.loaded(served)[0]

    def loaded(self, served: ServedVersion) -> tuple[Any, Plan | None]:
        """The version's pipeline and its single-row plan (None: serve it unplanned)."""
        with self._lock:
            # Keyed by id and artifact digest: a reused id (a test database reset) can never
            # serve another model's pipeline.
            key = (served.id, served.artifact_sha256)
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
                self.hits += 1
                metrics.CACHE_HITS.inc()
                return item[0], item[1]
            self.misses += 1
            metrics.CACHE_MISSES.inc()
        # A model bigger than the whole cache is refused, not kept: the LRU would hold it
        # whatever its size (a 15,000-value one-hot k-NN added 1.1 GB to every worker).
        what = f"Version {served.version} of {served.model}"
        try:
            pipeline = load_pipeline(served.id, served.artifact_sha256, self.max_bytes)
        except numpyml.ModelSizeError as exc:
            raise self._too_large(what, exc.size) from None
        size = _nbytes(pipeline)
        if size > self.max_bytes:
            raise self._too_large(what, size)
        plan = build_plan(pipeline)
        size += plan.nbytes if plan is not None else 0
        with self._lock:
            if key not in self._items:
                self._items[key] = (pipeline, plan, size)
                self.bytes += size
                while self.bytes > self.max_bytes and len(self._items) > 1:
                    _, (_, _, evicted) = self._items.popitem(last=False)
                    self.bytes -= evicted
                    self.evictions += 1
                    metrics.CACHE_EVICTIONS.inc()
                self._gauges()
        return pipeline, plan

    def _too_large(self, what: str, size: int) -> ModelTooLarge:
        self.refused += 1
        return ModelTooLarge(
            f"{too_large_message(what, size)}: it cannot be served. Train a smaller one "
            "(fewer rows or features, or an algorithm that does not keep the training rows)."
        )

    def _gauges(self) -> None:
        metrics.CACHE_MODELS.set(len(self._items))
        metrics.CACHE_BYTES.set(self.bytes)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
            self._gauges()


def load_pipeline(
    version_id: int, expected_sha256: str, max_bytes: int = numpyml.persistence.DEFAULT_MAX_BYTES
) -> Any:
    """Read, verify and load a version's artifact. A tampered artifact is refused, and one
    whose arrays would take more than `max_bytes` raises numpyml.ModelSizeError unread."""
    found = list(ModelVersion.objects.filter(pk=version_id).values_list("artifact", flat=True))
    if not found:
        # Deleted (through any server) after this process resolved and cached it.
        forget_resolutions()
        raise NotFound("This model version no longer exists: it was deleted.")
    artifact = found[0]
    if artifact is None:
        raise ArtifactError(f"Version {version_id} has no artifact.")
    data = bytes(artifact)
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ArtifactError(
            f"The artifact of version {version_id} does not match its sha256: refusing to load it."
        )
    try:
        return numpyml.load(data, max_bytes=max_bytes)
    except numpyml.ModelSizeError:
        raise
    except numpyml.ModelFormatError as exc:
        raise ArtifactError(
            f"The artifact of version {version_id} cannot be loaded: {exc}"
        ) from None


_cache: PipelineCache | None = None


def pipeline_cache() -> PipelineCache:
    global _cache
    if _cache is None:
        _cache = PipelineCache(settings.MLSERVE_MODEL_CACHE_MB * 1024 * 1024)
    return _cache
