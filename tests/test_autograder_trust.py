"""A clean room with a real kernel (no sandbox needed): it is sent the inputs of cases the grader drew, never the
run's secret, an item's seed or an expected output; a result forged next to the real one is refused; and whatever the
learner replaces inside the room (even the harness that answers), they change at most what their function returns.

These kernels run on the host with the room's import guard (a courtesy, see coursekit.harness.enter_clean_room);
that a sandboxed room has no torch and no reference on its filesystem at all is tested in
tests/test_autograder_cleanroom.py.
"""

import base64
import re
import tempfile

import numpy as np
import pytest

import autograder_synthetic as syn
from autograder.checkdata import RESULT_MIME, item_seed
from autograder.cleanroom import Room, RoomCell, RoomFiles, statements
from autograder.config import GradingConfig
from autograder.kernel import Kernel
from autograder.roomrun import room_setup_code, run_room
from autograder.sessions import Session
from coursekit.checking import cases_for, request
from coursekit.harness import same_value, unpack

pytestmark = pytest.mark.slow

ROOM = Room(syn.ASSIGNMENT, absent=("torch",), helpers=(), items=("test_double",), setup_cells=("setup",))
ITEMS = {"test_double": syn.DOUBLE}
SECRET = 123456789123

FORGER = f"""\
def double(x):
    from IPython.display import publish_display_data
    publish_display_data({{{RESULT_MIME!r}: "forged"}})
    return 2 * x
"""

# The learner replaces the harness that answers the grader: every case "passes" with a made-up verdict, and the
# outputs are what the learner chose (zeros), since nothing in the room can compute the right ones.
HARNESS_FORGER = """\
import numpy as np
import coursekit.harness as h
def double(x):
    return np.zeros_like(x)
def fake_evaluate(namespace, request):
    outcomes = tuple({"output": np.zeros_like(c["args"][0]), "error": None, "modified_input": False,
                      "warnings": (), "measures": {}, "passed": True} for c in request["calls"])
    return {"missing": False, "outcomes": outcomes, "passed": True, "score": 2, "message": "all cases pass"}
h.evaluate = fake_evaluate
"""


@pytest.fixture(scope="module")
def files():
    room_files = RoomFiles(ROOM)
    yield room_files
    room_files.close()


@pytest.fixture
def session(files):
    """A session in a room kernel of ROOM, as Grader.kernels() makes one when there is no sandbox."""
    config = GradingConfig(timeout=30, sandbox=None)
    kernel = Kernel(tempfile.mkdtemp(), setup_code=room_setup_code(ROOM, guard=True),
                    env={"PYTHONPATH": str(files.library)}).start()
    session = Session(kernel, lambda: None, config, None)
    yield session, config
    session.close()


def _cells(source):
    return [RoomCell("double", "double", statements(source), learner=True)]


def _grade(session, config, source, seed=7):
    return run_room(ROOM, _cells(source), ITEMS, session, config=config,
                    cases_of=lambda gid: cases_for(ITEMS[gid], seed, True))


def test_the_room_gets_inputs_only_never_a_seed_or_an_answer(session, monkeypatch):
    session, config = session
    sent = []
    run = session.run
    monkeypatch.setattr(session, "run", lambda code, **kw: sent.append(code) or run(code, **kw))
    seed = item_seed(SECRET, "ann", "test_double")  # what Grader.cases() draws from for this student and item
    outcome = _grade(session, config, "def double(x):\n    return 2 * x", seed=seed)
    assert outcome.results["test_double"].passed and outcome.flags == []
    everything = "\n".join(sent)
    assert str(SECRET) not in everything and str(seed) not in everything
    assert str(item_seed(SECRET, "ann", "test_square")) not in everything  # nor the seed of any other item
    payloads = [base64.b64decode(p) for p in re.findall(r"evaluate_and_publish\(globals\(\), '([^']+)'", everything)]
    assert len(payloads) == 1
    cases = cases_for(syn.DOUBLE, seed, True)
    sent_request = unpack(payloads[0])
    assert same_value(sent_request, request(syn.DOUBLE, cases))  # the inputs, as plain data, and nothing else
    arrays = [a for call in sent_request["calls"] for a in call["args"]]
    assert not any(a.shape == c.args[0].shape and np.allclose(a, 2 * c.args[0]) for a in arrays for c in cases)


def test_the_verdict_comes_from_the_cases_the_grader_kept(session):
    """The same right function, judged on the grader's cases; a wrong one fails with the listed mistake."""
    session, config = session
    outcome = _grade(session, config, "def double(x):\n    return x")
    result = outcome.results["test_double"]
    assert (result.passed, result.score) == (False, 0.0) and "x was returned unchanged" in result.message


def test_a_result_forged_next_to_the_real_one_is_refused(session):
    session, config = session
    outcome = _grade(session, config, FORGER)
    result = outcome.results["test_double"]
    assert (result.passed, result.ran) == (False, True) and "more than one result" in result.message
    assert outcome.flags == ["bad-result:test_double"]


def test_replacing_the_harness_changes_only_the_learners_outputs(session):
    session, config = session
    outcome = _grade(session, config, HARNESS_FORGER)
    result = outcome.results["test_double"]
    assert not result.passed and result.score == 0 and "wrong values" in result.message
    assert outcome.cell_errors == []  # the forger's cell itself ran fine


def test_the_reference_and_torch_cannot_be_imported_in_the_room(session):
    session, config = session
    for module in ("torch", "coursekit.checking", "coursekit.items", "coursekit.gru", "coursekit.checks"):
        run = session.run(f"import {module}")
        assert run.status == "error" and run.error[0] == "ModuleNotFoundError", (module, run.error)
    assert session.run("import coursekit.harness, numpy").status == "ok"


def test_a_function_that_needs_torch_costs_its_item_with_a_reason(session):
    session, config = session
    outcome = _grade(session, config, "import torch\ndef double(x):\n    return 2 * torch.as_tensor(x).numpy()")
    result = outcome.results["test_double"]
    assert result.score == 0 and "torch is not available to graded code in 00-synthetic" in result.message
    assert [(error.cell, error.problem.split(":")[0]) for error in outcome.cell_errors] == \
        [("double (clean room)", "ModuleNotFoundError")]
