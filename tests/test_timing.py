"""coursekit.timing.median_seconds: warm-up calls are not timed, the median of the timed calls is returned."""

import pytest

from coursekit import timing


def test_median_of_the_timed_calls_after_the_warmup(monkeypatch):
    clock = iter([0.0, 1.0, 10.0, 12.0, 20.0, 25.0])  # durations 1, 2, 5
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(clock))
    calls = []
    assert timing.median_seconds(lambda: calls.append(1), repeats=3, warmup=2) == 2.0
    assert len(calls) == 5


@pytest.mark.parametrize("kwargs", [{"repeats": 0}, {"repeats": 2.5}, {"warmup": -1}, {"repeats": True}])
def test_bad_counts_are_refused(kwargs):
    with pytest.raises(ValueError):
        timing.median_seconds(lambda: None, **kwargs)
