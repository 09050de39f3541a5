"""Shared test helpers: run a graded item's check on a function and expect a pass, or a failure naming a cause.

Used by the item tests (tests/test_items_*.py) and the learner corpus (tests/test_learner_corpus.py) as fixtures:

    def test_x(expect_pass, expect_failure):
        expect_pass(ITEM, right_answer)                      # public and hidden checks pass
        expect_failure(ITEM, wrong_answer, "b_hn")           # the public check fails, its message names "b_hn"
"""

import pytest

from coursekit import checking


def check_message(item, fn, hidden=False):
    """None when ``fn`` passes the item's (public or hidden) check, else the failure's message."""
    try:
        checking.check(item, fn, hidden=hidden, quiet=True)
    except AssertionError as exc:
        return str(exc)
    return None


def _expect_pass(item, fn):
    for hidden in (False, True):
        message = check_message(item, fn, hidden)
        assert message is None, f"{'hidden' if hidden else 'public'} check refused a right answer:\n{message}"


def _expect_failure(item, fn, *needles, hidden=False):
    message = check_message(item, fn, hidden)
    assert message is not None, f"a wrong answer passed the {'hidden' if hidden else 'public'} check"
    for needle in needles:
        assert needle in message, f"{needle!r} not in the message:\n{message}"
    return message


@pytest.fixture
def expect_pass():
    """expect_pass(item, fn): the public and the hidden check both pass."""
    return _expect_pass


@pytest.fixture
def expect_failure():
    """expect_failure(item, fn, *needles, hidden=False) -> message: the check fails and names every needle."""
    return _expect_failure
