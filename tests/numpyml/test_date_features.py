"""DateFeatures: epoch seconds -> calendar features, checked against Python's datetime."""

from datetime import UTC, datetime

import numpy as np
import pytest

from numpyml import ColumnTransformer, DateFeatures, load, save


def epoch(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def test_it_expands_each_date_into_calendar_features():
    stamps = [epoch(2024, 1, 2, 10, 30), epoch(1969, 12, 31), np.nan, epoch(2000, 2, 29, 23, 59)]
    out = DateFeatures().fit(np.array(stamps)[:, None]).transform(np.array(stamps)[:, None])
    for row, stamp in zip(out, stamps, strict=True):
        if np.isnan(stamp):
            assert np.isnan(row).all()
            continue
        moment = datetime.fromtimestamp(stamp, UTC)
        expected = [
            moment.year,
            moment.month,
            moment.weekday(),
            moment.timetuple().tm_yday,
            stamp,
        ]
        np.testing.assert_array_equal(row, expected)


def test_it_names_its_features_after_the_input_columns():
    table = {"signup": np.array([0.0, 86400.0]), "last": np.array([0.0, 1e9])}
    features = DateFeatures().fit(table)
    assert features.get_feature_names_out().tolist() == [
        f"{column}_{part}"
        for column in ("signup", "last")
        for part in ("year", "month", "dayofweek", "dayofyear", "timestamp")
    ]
    assert features.transform(table).shape == (2, 10)


def test_it_refuses_seconds_no_calendar_holds():
    with pytest.raises(ValueError, match="seconds since 1970"):
        DateFeatures().fit(np.array([[0.0], [1e20]]))


def test_it_survives_a_save_and_load_inside_a_column_transformer():
    X = {"day": np.array([epoch(2024, 1, 2), epoch(2024, 6, 30), np.nan]), "n": np.ones(3)}
    prep = ColumnTransformer([("date", DateFeatures(), ["day"])]).fit(X)
    again = load(save(prep))
    np.testing.assert_array_equal(again.transform(X), prep.transform(X))
    assert again.get_feature_names_out().tolist() == prep.get_feature_names_out().tolist()
