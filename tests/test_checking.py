"""The graded-item machinery: learner calls, verdicts, forbidden names, and the plain-data boundary."""

import numpy as np
import pytest

import coursekit
from coursekit import checking, gru
from coursekit.checking import Case, Item, call_learner, check, judge, pack, unpack

import torch  # noqa: F401  (used by a learner function below, as a forbidden global)


def _square_cases(rng, hidden):
    cases = [Case("vector", (rng.standard_normal(5),)), Case("matrix", (rng.standard_normal((2, 3)),))]
    return cases + ([Case("float32", (rng.standard_normal(4).astype(np.float32),), rtol=1e-5)] if hidden else [])


SQUARE = Item(name="test_square", target="square", points=1, make_cases=_square_cases,
              reference=lambda x: x * x,
              mistakes=(("this doubles x instead of squaring it", lambda x: 2 * x),),
              forbidden=("torch", "coursekit.gru"))


def test_a_right_answer_passes_public_and_hidden_cases():
    assert check(SQUARE, lambda x: x ** 2, quiet=True).passed
    verdict = check(SQUARE, lambda x: np.multiply(x, x), hidden=True, quiet=True)
    assert verdict.n_cases == 3 and verdict.n_passed == 3


@pytest.mark.parametrize("wrong,expected_message", [
    (lambda x: 2 * x, "Likely cause: this doubles x"),
    (lambda x: np.zeros_like(x), "wrong values"),
    (lambda x: x, "wrong values"),
    (lambda x: (x * x)[..., :1], "has shape"),
    (lambda x: (x * x, x), "should be a single value"),
    (lambda x: float(np.sum(x * x)), "has shape"),
    (lambda x: "x squared", "returned a str"),
])
def test_wrong_answers_fail_with_a_message(wrong, expected_message):
    with pytest.raises(AssertionError, match=expected_message):
        check(SQUARE, wrong, quiet=True)


def test_a_stub_that_raises_is_reported_not_crashed():
    def stub(x):
        raise NotImplementedError()
    with pytest.raises(AssertionError, match="not answered yet"):
        check(SQUARE, stub, quiet=True)


def test_in_place_modification_is_detected():
    def squares_in_place(x):
        x *= x
        return x
    with pytest.raises(AssertionError, match="changed its inputs"):
        check(SQUARE, squares_in_place, quiet=True)


def test_an_object_that_equals_everything_gets_no_credit():
    class AlwaysEqual(np.ndarray):
        def __eq__(self, other):
            return True
    with pytest.raises(AssertionError, match="returned a AlwaysEqual"):
        check(SQUARE, lambda x: (x * 0).view(AlwaysEqual), quiet=True)


def test_overflow_warnings_fail_items_that_forbid_them():
    item = Item(name="test_sig", target="sig", points=1, no_warnings=True,
                make_cases=lambda rng, hidden: [Case("large", (np.array([-800.0, 0.0, 800.0]),))],
                reference=lambda x: 0.5 * np.tanh(0.5 * x) + 0.5)
    with pytest.raises(AssertionError, match="overflow"):
        check(item, lambda x: 1 / (1 + np.exp(-x)), quiet=True)
    assert check(item, lambda x: 0.5 * np.tanh(0.5 * x) + 0.5, quiet=True).passed


def test_forbidden_names_are_found_through_aliases():
    import coursekit.gru as reference_gru
    from coursekit.gru import cell_forward as sneaky

    def uses_torch(x):
        return torch.tensor(x).square().numpy()

    def uses_alias(x):
        return reference_gru.sigmoid(x) * 0 + x * x

    def uses_function(x):
        return sneaky  # merely naming it is enough

    def uses_package(x):
        return coursekit.gru and x * x

    for fn in (uses_torch, uses_alias, uses_function, uses_package):
        assert checking.forbidden_used(SQUARE, fn), fn.__name__
        with pytest.raises(AssertionError, match="must be written without"):
            check(SQUARE, fn, quiet=True)
    assert checking.forbidden_used(SQUARE, lambda x: np.square(x)) == []


def test_judge_in_another_process_sees_only_plain_data():
    """What the grader does: outcomes go through pack/unpack, and are judged with freshly made cases."""
    cases = checking.cases_for(SQUARE, seed=99, hidden=True)
    outcomes = unpack(pack(call_learner(SQUARE, lambda x: x * x, cases)))
    assert judge(SQUARE, checking.cases_for(SQUARE, seed=99, hidden=True), outcomes).passed
    wrong = unpack(pack(call_learner(SQUARE, lambda x: 2 * x, cases)))
    verdict = judge(SQUARE, cases, wrong)
    assert not verdict.passed and "doubles" in verdict.message
    assert not judge(SQUARE, cases, outcomes[:1]).passed  # missing outcomes never pass


def test_run_item_reports_a_missing_target():
    assert checking.run_item(SQUARE, {}, seed=1)["missing"] is True
    result = checking.run_item(SQUARE, {"square": lambda x: x * x}, seed=1)
    assert result["missing"] is False and len(result["outcomes"]) == 3


def test_pack_round_trips_nested_plain_data_and_refuses_pickles():
    tree = {"a": np.arange(6.0).reshape(2, 3), "b": (1, 2.5, None, "text", True), "c": {"d": np.float32(3)}}
    back = unpack(pack(tree))
    assert np.array_equal(back["a"], tree["a"]) and back["b"] == (1, 2.5, None, "text", True)
    assert back["c"]["d"] == 3.0
    import io
    buffer = io.BytesIO()
    np.savez(buffer, __layout__=np.frombuffer(b'{"a": "a0", "s": false}', np.uint8),
             a0=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        unpack(buffer.getvalue())


def test_dict_outputs_are_compared_key_by_key():
    item = Item(name="test_grads", target="grads", points=1,
                make_cases=lambda rng, hidden: [Case("one", (rng.standard_normal(3),))],
                reference=lambda x: {"W": x, "b": 2 * x})
    assert check(item, lambda x: {"W": x.copy(), "b": x + x}, quiet=True).passed
    with pytest.raises(AssertionError, match=r"output\['b'\] has wrong values"):
        check(item, lambda x: {"W": x.copy(), "b": x}, quiet=True)
    with pytest.raises(AssertionError, match="has keys"):
        check(item, lambda x: {"W": x.copy()}, quiet=True)


def test_items_registry_is_consistent():
    from coursekit import items
    for assignment, registry in items.ASSIGNMENTS.items():
        for name, item in registry.items():
            assert item.name == name and name.startswith("test_") and item.points > 0
            assert (item.reference is None) != (item.validate is None), name
            assert items.get(assignment, name) is item and items.find(name) is item
    with pytest.raises(KeyError, match="known"):
        items.get("02-gru-numpy", "test_nothing")


def test_gru_reference_is_what_the_gru_items_expect():
    """A sanity check that the item references really are coursekit.gru (not a copy that could drift)."""
    from coursekit import items
    item = items.get("02-gru-numpy", "test_gru_cell_forward")
    case = checking.cases_for(item, 0, False)[0]
    assert np.array_equal(item.reference(*case.args), gru.cell_forward(*case.args)[0])
