"""The check of one item with a real kernel (no sandbox needed): the kernel is told that item's own seed, never the
run's secret, and a result forged by the learner's code next to the real one is refused."""

import tempfile

import pytest

import autograder_synthetic as syn
from autograder.checkdata import RESULT_MIME, item_seed
from autograder.engine import GradingConfig, Session, check_item
from autograder.kernel import Kernel

pytestmark = pytest.mark.slow

FORGER = f"""\
def double(x):
    from IPython.display import publish_display_data
    publish_display_data({{{RESULT_MIME!r}: "forged"}})
    return 2 * x
"""


@pytest.fixture
def session():
    kernel = Kernel(tempfile.mkdtemp(), setup_code=syn.KERNEL_SETUP).start()
    config = GradingConfig(timeout=30)
    session = Session(kernel, lambda: None, config, None)
    yield session, config
    session.close()


def test_the_kernel_gets_the_items_seed_not_the_runs_secret(session, monkeypatch):
    session, config = session
    session.run("def double(x):\n    return 2 * x")
    sent = []
    run = session.run
    monkeypatch.setattr(session, "run", lambda code, **kw: sent.append(code) or run(code, **kw))
    secret = 123456789123
    seeds = lambda gid: item_seed(secret, "ann", gid)  # noqa: E731  (what grade_submission passes)
    assert check_item(session, None, syn.ASSIGNMENT, "test_double", syn.DOUBLE, seeds, True, config)[:2] == \
        (True, "double: all 4 cases pass.")
    assert str(secret) not in sent[0] and str(item_seed(secret, "ann", "test_double")) in sent[0]
    assert str(item_seed(secret, "ann", "test_square")) not in sent[0]  # nor the seed of any other item


def test_a_result_forged_next_to_the_real_one_is_refused(session):
    session, config = session
    session.run(FORGER)
    passed, message, flag, ran = check_item(session, None, syn.ASSIGNMENT, "test_double", syn.DOUBLE, 7, True, config)
    assert (passed, flag, ran) == (False, "bad-result", True) and "more than one result" in message
