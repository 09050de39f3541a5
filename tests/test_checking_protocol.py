"""The item protocol between the trusted side (coursekit.checking) and the learner's side (coursekit.harness).

The trusted side draws the cases, prepares plain arguments (``Item.prepare``) and names an invoker; the learner's
side calls the target and returns plain outcomes; the trusted side judges them (including ``Item.requirement``).
"""

import subprocess
import sys

import numpy as np
import pytest

from coursekit import harness
from coursekit.checking import Case, Invocation, Item, call_learner, check, judge, pack, request, unpack


def _cases(rng, hidden):
    return [Case("factor 3", (3.0, rng.standard_normal(4))), Case("factor -2", (-2.0, rng.standard_normal((2, 3))))]


# prepare: the trusted side turns a case into the arguments the learner gets (here: x doubled first)
DOUBLED = Item(name="test_scaled", target="scaled", points=1, make_cases=_cases,
               reference=lambda factor, x: factor * 2 * x, prepare=lambda factor, x: (factor, 2 * x),
               mistakes=(("added the factor instead of multiplying", lambda factor, x: factor + 2 * x),))


def test_prepare_builds_the_arguments_the_learner_gets():
    check(DOUBLED, lambda factor, x: factor * x, quiet=True)
    with pytest.raises(AssertionError, match="added the factor instead of multiplying"):
        check(DOUBLED, lambda factor, x: factor + x, quiet=True)


def test_the_request_is_plain_data_and_survives_packing():
    cases = _cases(np.random.default_rng(0), False)
    sent = unpack(pack(request(DOUBLED, cases)))
    assert sent["target"] == "scaled" and len(sent["calls"]) == 2
    np.testing.assert_array_equal(sent["calls"][0]["args"][1], 2 * cases[0].args[1])
    result = unpack(pack(harness.evaluate({"scaled": lambda f, x: f * x}, sent)))
    assert judge(DOUBLED, cases, result["outcomes"]).passed


def test_a_missing_target_is_reported():
    cases = _cases(np.random.default_rng(0), False)
    assert harness.evaluate({}, request(DOUBLED, cases))["missing"] is True


def test_an_unknown_invoker_is_refused():
    with pytest.raises(TypeError, match="unknown invoker"):
        Invocation.from_plain({"args": (), "invoker": "os.system"})


def test_errors_become_messages_and_in_place_changes_are_seen():
    cases = _cases(np.random.default_rng(0), False)

    def stub(factor, x):
        raise NotImplementedError("replace this")

    def in_place(factor, x):
        x *= factor
        return x

    assert all(o["error"].startswith("NotImplementedError") for o in call_learner(DOUBLED, stub, cases))
    assert all(o["modified_input"] for o in call_learner(DOUBLED, in_place, cases))
    assert not judge(DOUBLED, cases, call_learner(DOUBLED, in_place, cases)).passed


def test_the_tensor_invoker_hands_over_torch_tensors():
    torch = pytest.importorskip("torch")
    seen = []
    item = Item(name="test_t", target="t", points=1, make_cases=lambda rng, hidden: [Case("x", (np.ones(3),))],
                reference=lambda x: 2 * x, invoker="tensors")
    check(item, lambda x: seen.append(type(x)) or 2 * x, quiet=True)
    assert seen == [torch.Tensor]


def test_a_requirement_judges_what_the_harness_measured():
    def lines_at_most_5(case, outcome):
        lines = outcome["measures"]["python_lines"]
        return None if lines <= 5 else f"ran {lines} lines"

    item = Item(name="test_sum", target="total", points=1, make_cases=lambda rng, hidden: [Case("x", (50,))],
                reference=lambda n: n * (n - 1) // 2, invoker="count_lines", requirement=lines_at_most_5)

    def loop(n):
        total = 0
        for i in range(n):
            total += i
        return total

    check(item, lambda n: n * (n - 1) // 2, quiet=True)
    with pytest.raises(AssertionError, match="ran 10[0-9] lines"):
        check(item, loop, quiet=True)


def test_outputs_are_converted_strictly():
    from collections import defaultdict

    grads = defaultdict(float, {"a": np.ones(2)})
    assert type(harness.to_plain(grads)) is dict
    for bad in ("text", None, object()):
        with pytest.raises(TypeError):
            harness.to_plain(bad)


def test_the_harness_imports_no_reference_code():
    """The clean room holds coursekit.harness: importing it must load nothing that can compute an answer."""
    code = "import sys, coursekit.harness; print(sorted(m for m in sys.modules if m.startswith('coursekit')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['coursekit', 'coursekit.harness']"
