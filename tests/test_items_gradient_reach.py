"""Notebook 04's gradient_reach item (truncated BPTT): the reference is what torch's autograd measures on a real GRU,
right answers in other forms pass, and wrong ones, written the way learners write them, fail with their cause."""

import numpy as np
import pytest

from coursekit import items
from coursekit.checking import cases_for
from coursekit.items.torch_gru import gradient_reach_reference

torch = pytest.importorskip("torch")

REACH = items.get("04-torch-gru", "test_gradient_reach")


def measured_reach(T, K, loss_step, detach, seed=0):
    """The input steps whose gradient is non-zero, by autograd: a GRU over T steps in chunks of K, h carried (and
    detached between chunks), the loss a function of the output at loss_step."""
    torch.manual_seed(seed)
    layer, head = torch.nn.GRU(2, 5).double(), torch.nn.Linear(5, 1).double()
    stream = torch.randn(T, 1, 2, dtype=torch.float64, requires_grad=True)
    h, outputs = None, []
    for chunk in stream.split(K):
        if h is not None and detach:
            h = h.detach()
        output, h = layer(chunk, h)
        outputs.append(output)
    head(torch.cat(outputs)[loss_step]).sum().backward()
    reached = np.flatnonzero(stream.grad.abs().sum(dim=(1, 2)).numpy() > 0)
    assert np.array_equal(reached, np.arange(reached[0], reached[-1] + 1)), "the reach should have no gaps"
    return int(reached[0]), int(reached[-1])


@pytest.mark.parametrize("hidden", [False, True])
def test_the_reference_is_what_autograd_measures(hidden):
    for case in cases_for(REACH, seed=7, hidden=hidden):
        assert gradient_reach_reference(*case.args) == measured_reach(*case.args), case.label


def test_right_answers_in_other_forms_pass(expect_pass):
    def as_a_list(T, K, loss_step, detach):
        return [loss_step - loss_step % K if detach else 0, loss_step]

    def with_a_loop(T, K, loss_step, detach):
        t = loss_step
        while t > 0 and not (detach and t % K == 0):  # walk back until a detached chunk start or step 0
            t -= 1
        return np.int64(t), np.int64(loss_step)

    expect_pass(REACH, gradient_reach_reference)
    expect_pass(REACH, as_a_list)
    expect_pass(REACH, with_a_loop)


@pytest.mark.parametrize("text, wrong", [
    ("last is after loss_step", lambda T, K, s, d: ((s // K) * K if d else 0, min(T, (s // K + 1) * K) - 1
                                                    if d else T - 1)),
    ("a sliding window", lambda T, K, s, d: (max(0, s - K + 1), s) if d else (0, s)),
    ("detach=False was treated like detach=True", lambda T, K, s, d: (s - s % K, s)),
    ("detach was ignored", lambda T, K, s, d: (0, s)),
    ("last is before loss_step", lambda T, K, s, d: (s - s % K if d else 0, s - 1)),
    ("first is one step before the chunk", lambda T, K, s, d: (max(0, s - s % K - 1) if d else 0, s)),
])
def test_each_listed_mistake_is_named(expect_failure, text, wrong):
    message = expect_failure(REACH, wrong, text)
    assert len(message.splitlines()) <= 4, message
    expect_failure(REACH, wrong, hidden=True)


def test_unlisted_wrong_answers_and_stubs_fail(expect_failure):
    def whole_stream(T, K, loss_step, detach):
        return 0, T - 1

    def the_last_chunk_always(T, K, loss_step, detach):
        return (T - K, T - 1) if detach else (0, loss_step)

    def a_count_not_steps(T, K, loss_step, detach):
        return loss_step - (loss_step // K) * K + 1 if detach else loss_step + 1

    def chunk_index_not_step(T, K, loss_step, detach):
        return (loss_step // K if detach else 0), loss_step

    def stub(T, K, loss_step, detach):
        return None

    for wrong in (whole_stream, the_last_chunk_always, a_count_not_steps, chunk_index_not_step, stub):
        expect_failure(REACH, wrong)
        expect_failure(REACH, wrong, hidden=True)


def test_torch_is_refused(expect_failure):
    def by_autograd(T, K, loss_step, detach):
        import torch  # noqa: F401  (the exercise is to reason it out)
        return gradient_reach_reference(T, K, loss_step, detach)

    expect_failure(REACH, by_autograd, "torch")
