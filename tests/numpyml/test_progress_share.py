"""Fits that stop when they converge (SMO, Lloyd, EM) or when their leaves are pure (a
tree) say how much of their work is done, so that a progress bar moves through the fit
instead of waiting near its start and jumping to the end."""

from typing import Any

import numpy as np
import pytest

import numpyml


def _blobs(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=n)
    X = rng.normal(size=(n, 4)) + y[:, None] * 1.5
    return X, y


CONVERGING = [
    pytest.param(numpyml.SVC(C=10.0), True, id="SVC"),
    pytest.param(numpyml.KMeans(n_clusters=3, n_init=2, random_state=0), False, id="KMeans"),
    pytest.param(
        numpyml.GaussianMixture(n_components=3, tol=1e-6, random_state=0), False, id="GMM"
    ),
    pytest.param(numpyml.DecisionTreeClassifier(random_state=0), True, id="tree"),
]


@pytest.mark.parametrize(("estimator", "supervised"), CONVERGING)
def test_it_reports_a_share_of_work_that_moves_and_ends_at_one(estimator, supervised):
    X, y = _blobs()
    calls: list[dict[str, Any]] = []
    estimator.fit(X, y if supervised else None, callback=calls.append)
    shares = [call["share"] for call in calls]
    assert all(0.0 <= share <= 1.0 for share in shares)
    assert shares[-1] == 1.0
    between = {round(share, 3) for share in shares if 0.05 < share < 0.95}
    assert len(between) >= 2, shares  # not a jump from the start to the end
    # Iterations out of max_iter say far less: these fits stop long before max_iter.
    assert calls[-1]["iteration"] < calls[-1]["max_iter"] or len(calls) > 2


def test_convergence_share_is_a_log_scale_from_the_first_error_to_tol():
    from numpyml.progress import convergence_share

    assert convergence_share(1.0, 1.0, 1e-4) == 0.0
    assert convergence_share(1.0, 1e-2, 1e-4) == pytest.approx(0.5)
    assert convergence_share(1.0, 1e-5, 1e-4) == 1.0
    assert convergence_share(np.inf, 1.0, 1e-4) == 0.0


def test_one_hard_smo_problem_reports_its_kkt_gap_falling():
    # One binary sub-problem on overlapping classes: SMO runs many rounds before the gap
    # meets tol, and its share moves through them instead of waiting for the end.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 5))
    y = (X[:, 0] + rng.normal(size=1500) * 1.5 > 0).astype(int)
    calls: list[dict[str, Any]] = []
    numpyml.SVC(C=100.0).fit(X, y, callback=calls.append)
    shares = [call["share"] for call in calls]
    assert len({round(s, 2) for s in shares if 0.05 < s < 0.95}) >= 5, shares
    assert shares == sorted(shares)
    assert shares[-1] == 1.0
