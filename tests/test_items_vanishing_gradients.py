"""The graded items of notebook 06-vanishing-gradients: right answers pass (public and hidden), each listed mistake
fails with its own diagnosis, trivial stubs fail, and the reference agrees with NumPy backpropagation through time.

The learner-style implementations below are written independently of the item's code: they step nn.RNNCell /
nn.LSTMCell / nn.GRUCell built from the module's weights, where the item's reference steps the module itself."""


import numpy as np
import pytest

from coursekit import gru, lstm, rnn
from coursekit.checking import cases_for, judge, pack, run_item, unpack
from coursekit.items import get
from coursekit.items import vanishing_gradients as vg

torch = pytest.importorskip("torch")

NORMS = get("06-vanishing-gradients", "test_grad_norms_over_time")
ADDING = get("06-vanishing-gradients", "test_adding_problem")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def diagnosis(item, start):
    matches = [text for text, _ in item.mistakes if text.startswith(start)]
    assert len(matches) == 1, start
    return matches[0]


# ----------------------------------------------------------------------------------------------------------------
# grad_norms_over_time
# ----------------------------------------------------------------------------------------------------------------

def learner_norms(*, loss="last", order="time", wrt="h", batch="frobenius", power=1, detach=False,
                  lstm_cell_too=False, start="after"):
    """A learner's grad_norms_over_time with one knob turned wrong.

    It steps cells built from the model's weights, except with lstm_cell_too, where it steps the nn.LSTM itself:
    the fused nn.LSTM returns h_t and c_t side by side, so c_t's gradient there excludes the path through h_t,
    while nn.LSTMCell computes h_t from c_t inside autograd's graph and includes it.
    """
    def grad_norms_over_time(model, xs):
        kind = type(model).__name__
        cell_class = {"RNN": torch.nn.RNNCell, "LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell}[kind]
        cell = cell_class(model.input_size, model.hidden_size, dtype=xs.dtype)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(model, name + "_l0"))
        x = xs.clone().requires_grad_(wrt == "x")
        h = torch.zeros(xs.shape[1], model.hidden_size, dtype=xs.dtype, requires_grad=True)
        c = torch.zeros_like(h)
        first, hs, cs = h, [], []
        for t in range(len(x)):
            if detach:
                h, c = h.detach(), c.detach()
            if kind == "LSTM" and lstm_cell_too:
                _, (h, c) = model(x[t:t + 1], (h[None], c[None]))
                h, c = h[0], c[0]
                c.retain_grad()
                cs.append(c)
            elif kind == "LSTM":
                h, c = cell(x[t], (h, c))
                c.retain_grad()
                cs.append(c)
            else:
                h = cell(x[t], h)
            h.retain_grad()
            hs.append(h)
        L = {"last": hs[-1].sum(), "mean": hs[-1].mean(), "all": torch.stack(hs).sum()}[loss]
        L.backward()
        if wrt == "x":
            grads = [x.grad[t] for t in range(len(x))]
        else:
            grads = [torch.zeros_like(v) if v.grad is None else v.grad for v in hs]
            if start == "before":
                grads = [first.grad] + grads[:-1]
        if batch == "frobenius":
            norms = torch.stack([g.norm() for g in grads])
        else:
            norms = torch.stack([g.norm(dim=1).mean() for g in grads])
        if lstm_cell_too and kind == "LSTM":
            c_norms = torch.stack([torch.zeros(()) if v.grad is None else v.grad.norm() for v in cs])
            norms = torch.sqrt(norms ** 2 + c_norms ** 2)
        norms = norms ** power
        return (norms.flip(0) if order == "distance" else norms).detach().numpy()
    return grad_norms_over_time


def test_reference_matches_numpy_bptt_on_every_case():
    """dL/dh_t from NumPy BPTT over xs[t+1:] started at h_t (independent of torch's autograd)."""
    for case in cases_for(NORMS, 7, hidden=True):
        kind, weights, xs = case.args
        model, _ = vg.build_model(kind, weights, xs.astype(np.float64))
        library = {"rnn": rnn, "gru": gru, "lstm": lstm}[kind]
        params = library.params_from_torch(model)
        T, B, _ = xs.shape
        H = model.hidden_size
        zeros = np.zeros((B, H))
        x64 = xs.astype(np.float64)
        states = lstm.forward(x64, zeros, zeros, params)[:2] if kind == "lstm" else (
            library.forward(x64, zeros, params)[0],)
        expected = [np.sqrt(B * H)]
        for t in range(T - 2, -1, -1):
            dhs = np.zeros((T - 1 - t, B, H))
            dhs[-1] = 1.0
            if kind == "lstm":
                _, _, cache = lstm.forward(x64[t + 1:], states[0][t], states[1][t], params)
                dh = lstm.backward(dhs, None, cache)[1]
            else:
                _, cache = library.forward(x64[t + 1:], states[0][t], params)
                dh = library.backward(dhs, cache)[1]
            expected.append(np.linalg.norm(dh))
        tolerance = {"rtol": 1e-4, "atol": 1e-6} if xs.dtype == np.float32 else {"rtol": 1e-9, "atol": 1e-14}
        assert np.allclose(NORMS.reference(*case.args), expected[::-1], **tolerance), case.label


def test_cases_cover_vanishing_and_exploding():
    """The public cases must not be passable by a stub: norms differ across t, by orders of magnitude somewhere."""
    ratios = {}
    for case in cases_for(NORMS, 2024, hidden=True):
        norms = NORMS.reference(*case.args)
        if len(norms) > 1:
            ratios[case.label] = norms[0] / norms[-1]
    assert min(ratios.values()) < 1e-3  # vanishing at default init
    # recurrent weights x4 make the RNN's gradients decay far less than at default init (they may even grow)
    assert ratios["RNN, recurrent weights x4 (exploding), T=25"] > 100 * ratios["RNN, default init, T=10, B=2, I=3, H=5"]


def test_right_answer_passes(expect_pass):
    expect_pass(NORMS, learner_norms())


@pytest.mark.parametrize("knobs, start", [
    ({"loss": "all"}, "L must be the sum of the *last*"),
    ({"order": "distance"}, "norms[t] must belong to h_t"),
    ({"start": "before"}, "off by one"),
    ({"wrt": "x"}, "this is ||dL/dx_t||"),
    ({"loss": "mean"}, "L is the sum of h_{T-1}'s entries"),
    ({"batch": "mean"}, "the norm is the Frobenius norm"),
    ({"power": 2}, "return the norm, not its square"),
    ({"lstm_cell_too": True}, "for the LSTM, measure dL/dh_t alone"),
    ({"detach": True}, "no gradient flows back through time"),
])
def test_mistakes_are_diagnosed(knobs, start, expect_failure):
    message = expect_failure(NORMS, learner_norms(**knobs))
    assert diagnosis(NORMS, start) in message


def test_every_mistake_differs_from_the_answer_and_the_others_on_some_public_case():
    """Otherwise a diagnosis would be unreachable or a mistake would pass."""
    cases = cases_for(NORMS, 2024, hidden=False)
    outputs = [[wrong(*case.args) for case in cases] for _, wrong in NORMS.mistakes]
    references = [NORMS.reference(*case.args) for case in cases]
    close = lambda x, y: all(np.allclose(a, b, rtol=1e-7, atol=1e-9) for a, b in zip(x, y))
    for index, (text, _) in enumerate(NORMS.mistakes):
        assert not close(outputs[index], references), text
        for other in range(index):
            assert not close(outputs[index], outputs[other]), (text, NORMS.mistakes[other][0])


@pytest.mark.parametrize("stub", [
    lambda model, xs: np.zeros(len(xs)),
    lambda model, xs: np.ones(len(xs)),
    lambda model, xs: np.full(len(xs), np.sqrt(xs.shape[1] * model.hidden_size)),
    lambda model, xs: np.arange(len(xs), dtype=float),
    lambda model, xs: xs.norm(dim=(1, 2)),
])
def test_stubs_fail(stub, expect_failure):
    expect_failure(NORMS, stub)


def test_not_implemented_fails_with_its_error(expect_failure):
    def grad_norms_over_time(model, xs):
        raise NotImplementedError()
    assert "NotImplementedError" in expect_failure(NORMS, grad_norms_over_time)


def test_grader_round_trip_through_plain_data():
    """run_item in the learner's process -> pack/unpack -> judge in the grader's, as the autograder does."""
    learner = learner_norms()
    result = unpack(pack(run_item(NORMS, {"grad_norms_over_time": learner}, seed=99)))
    verdict = judge(NORMS, cases_for(NORMS, 99, True), result["outcomes"])
    assert verdict.passed and verdict.n_cases == len(cases_for(NORMS, 99, True))
    result = unpack(pack(run_item(NORMS, {"grad_norms_over_time": learner_norms(loss="all")}, seed=99)))
    assert not judge(NORMS, cases_for(NORMS, 99, True), result["outcomes"]).passed


def test_modifying_the_input_in_place_is_reported(expect_failure):
    def grad_norms_over_time(model, xs):
        norms = learner_norms()(model, xs)
        xs.mul_(0)
        return norms
    assert "changed its inputs" in expect_failure(NORMS, grad_norms_over_time)


def test_cases_are_deterministic_and_seed_dependent():
    first, again, other = (cases_for(NORMS, seed, True) for seed in (5, 5, 6))
    assert all(np.array_equal(a.args[2], b.args[2]) for a, b in zip(first, again))
    assert not np.array_equal(first[0].args[2], other[0].args[2])


# ----------------------------------------------------------------------------------------------------------------
# adding_problem
# ----------------------------------------------------------------------------------------------------------------

def learner_adding(*, layout="time", target_shape="column", value_low=0.0, value_spread=1.0, markers="one_each",
                   half_rule="floor", target="marked", same_values=False):
    """A learner's adding_problem with one knob turned wrong."""
    def adding_problem(batch, T, rng):
        rng = np.random.default_rng(rng)
        values = value_low + value_spread * rng.random((T, 1 if same_values else batch))
        values = np.broadcast_to(values, (T, batch)).copy()
        half = T // 2 if half_rule == "floor" else (T + 1) // 2
        marks = np.zeros((T, batch))
        columns = np.arange(batch)
        if markers == "fixed":
            first, second = np.zeros(batch, int), np.full(batch, T - 1)
        elif markers == "first_half":
            first = rng.integers(0, max(half - 1, 1), batch)
            second = first + 1
        else:
            first, second = rng.integers(0, half, batch), rng.integers(half, T, batch)
        marks[first, columns] = 1.0
        marks[second, columns] = 1.0
        if markers == "three":
            marks[(second + first) // 2, columns] = 1.0
        xs = np.stack([values, marks], axis=-1)
        ys = (values * marks).sum(axis=0) if target == "marked" else values.sum(axis=0)
        if layout == "batch":
            xs = xs.transpose(1, 0, 2)
        return xs, (ys[:, None] if target_shape == "column" else ys)
    return adding_problem


def test_adding_right_answer_passes(expect_pass):
    expect_pass(ADDING, learner_adding())


def test_coursekit_generator_satisfies_the_item_but_may_not_be_called(expect_failure):
    from coursekit.tasks import adding_problem
    for case in cases_for(ADDING, 3, True):
        batch, T, seed = case.args
        assert ADDING.validate(case, adding_problem(batch, T, rng=seed)) is None, case.label
    assert "must be written without" in expect_failure(ADDING, lambda batch, T, rng: adding_problem(batch, T, rng=rng))


@pytest.mark.parametrize("knobs, text", [
    ({"layout": "batch"}, "xs has shape"),
    ({"target_shape": "flat"}, "ys has shape"),
    ({"value_low": -0.5}, "must lie in [0, 1)"),
    ({"markers": "three"}, "every sequence needs exactly two"),
    ({"markers": "first_half"}, "put one marker in each half"),
    ({"target": "all"}, "the target is the sum of the values at the two marked steps"),
    ({"markers": "fixed"}, "always at the same positions"),
    ({"same_values": True}, "independent U(0, 1) draws"),
    ({"value_spread": 0.3}, "independent U(0, 1) draws"),
])
def test_adding_mistakes_are_named(knobs, text, expect_failure):
    assert text in expect_failure(ADDING, learner_adding(**knobs))


def test_adding_half_is_T_floor_2_in_the_hidden_cases(expect_failure):
    wrong = learner_adding(half_rule="ceil")
    assert "half = T // 2" in expect_failure(ADDING, wrong)  # public cases have an odd T too: public predicts hidden
    assert "half = T // 2" in expect_failure(ADDING, wrong, hidden=True)


@pytest.mark.parametrize("stub, text", [
    (lambda batch, T, rng: (np.zeros((T, batch, 2)), np.zeros((batch, 1))), "markers"),
    (lambda batch, T, rng: np.zeros((T, batch, 2)), "tuple (xs, ys)"),
    (lambda batch, T, rng: (np.ones((T, batch, 2)), np.ones((batch, 1))), "[0, 1)"),
])
def test_adding_stubs_fail(stub, text, expect_failure):
    assert text in expect_failure(ADDING, stub)


def test_adding_not_implemented_fails(expect_failure):
    def adding_problem(batch, T, rng):
        raise NotImplementedError()
    assert "NotImplementedError" in expect_failure(ADDING, adding_problem)


# ----------------------------------------------------------------------------------------------------------------
# Chinese notebooks: every message of this notebook's items is in the catalog
# ----------------------------------------------------------------------------------------------------------------

# (that every message of these items has a translation: tests/test_i18n_messages.py)


def test_built_messages_are_chinese_in_a_chinese_notebook():
    from coursekit.checking import check
    with pytest.raises(AssertionError) as info:
        check(ADDING, learner_adding(layout="batch"), quiet=True, language="zh_CN")
    assert "xs 的形状是 (8, 10, 2)；应为 (T, batch, 2) = (10, 8, 2)" in str(info.value)
    with pytest.raises(AssertionError) as info:
        check(ADDING, learner_adding(markers="first_half"), quiet=True, language="zh_CN")
    assert "前后两半应各放一个标记（half = T // 2 = 5）" in str(info.value)
