"""mlsite/gunicorn.conf.py's worker hook, called as gunicorn calls it."""

import gc
import importlib.util

from tests.helpers import ROOT


def test_a_worker_freezes_the_heap_it_loaded_before_serving():
    """Everything a worker loaded lives as long as it does: frozen, a full collection walks
    only what requests made since (benchmarks/README.md)."""
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "mlsite/gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    loaded = ["a model"]  # one of the objects the worker holds when the hook runs
    assert gc.get_freeze_count() == 0
    try:
        conf.post_worker_init(object())  # not a sync worker: no deadline to arm here
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(loaded)  # still tracked, but in the permanent generation
        assert all(loaded is not o for o in gc.get_objects())
    finally:
        gc.unfreeze()
