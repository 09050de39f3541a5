"""Item.invoke: graded targets that are not plain functions (e.g. a learner's class), see coursekit.checking."""

import numpy as np
import pytest

from coursekit.checking import Case, Item, call_learner, check, judge


class Scaler:
    """A learner-style class: built from the case's first argument, then applied to the second."""

    def __init__(self, factor):
        self.factor = factor

    def apply(self, x):
        return self.factor * x


class WrongScaler(Scaler):
    def apply(self, x):
        return self.factor + x


def _cases(rng, hidden):
    return [Case("factor 3", (3.0, rng.standard_normal(4))), Case("factor -2", (-2.0, rng.standard_normal((2, 3))))]


ITEM = Item(name="test_scaler", target="Scaler", points=1, make_cases=_cases,
            reference=lambda factor, x: factor * x, invoke=lambda cls, factor, x: cls(factor).apply(x),
            mistakes=(("added the factor instead of multiplying", lambda factor, x: factor + x),))


def test_invoke_builds_the_target_and_passes_the_case_args():
    check(ITEM, Scaler, quiet=True)
    check(ITEM, Scaler, hidden=True, quiet=True)


def test_invoke_failure_is_diagnosed():
    with pytest.raises(AssertionError, match="added the factor instead of multiplying"):
        check(ITEM, WrongScaler, quiet=True)


def test_error_inside_invoke_becomes_a_message():
    class Broken:
        def __init__(self, factor):
            raise NotImplementedError()

    cases = _cases(np.random.default_rng(0), False)
    outcomes = call_learner(ITEM, Broken, cases)
    assert all(o["error"].startswith("NotImplementedError") for o in outcomes)
    assert not judge(ITEM, cases, outcomes).passed


def test_without_invoke_the_target_is_called_directly():
    item = Item(name="test_f", target="f", points=1, make_cases=lambda rng, hidden: [Case("x", (2.0,))],
                reference=lambda x: x + 1)
    check(item, lambda x: x + 1, quiet=True)
    with pytest.raises(AssertionError):
        check(item, lambda x: x, quiet=True)
