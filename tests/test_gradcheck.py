import numpy as np
import pytest

from coursekit.gradcheck import check_gradient, check_param_grads, numerical_gradient, rel_error


def test_numerical_gradient_of_sum_of_cubes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    num = numerical_gradient(lambda x: np.sum(x**3), x)
    assert num.shape == x.shape
    assert rel_error(num, 3 * x**2) < 1e-8


@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 2)])
def test_numerical_gradient_any_shape(shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    num = numerical_gradient(lambda x: np.sum(np.sin(x)), x)
    assert num.shape == x.shape
    assert rel_error(num, np.cos(x)) < 1e-8


def test_numerical_gradient_of_matrix_product_with_upstream():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 3))
    w = rng.standard_normal((3, 5))
    dout = rng.standard_normal((4, 5))
    # d sum((a @ w) * dout) / dw = a.T @ dout, and / da = dout @ w.T
    assert rel_error(numerical_gradient(lambda w: a @ w, w, dout), a.T @ dout) < 1e-8
    assert rel_error(numerical_gradient(lambda a: a @ w, a, dout), dout @ w.T) < 1e-8


def test_numerical_gradient_copies_outputs_that_alias_x():
    # f returns x itself: without a copy, the "plus" output would change when x is perturbed again.
    x = np.array([0.3, -1.2, 2.0])
    dout = np.array([1.0, -2.0, 0.5])
    assert rel_error(numerical_gradient(lambda x: x, x, dout), dout) < 1e-8


def test_numerical_gradient_restores_x_exactly():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 4)) * 1e3 + 0.1  # x + h - h != x in floating point for many entries
    before = x.copy()
    numerical_gradient(lambda x: np.sum(x**2), x)
    assert np.array_equal(x, before)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([0.1, 0.2])
    before = x.copy()

    def f(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    assert np.array_equal(x, before)


def test_numerical_gradient_perturbs_the_array_a_closure_reads():
    w = np.array([1.0, 2.0, 3.0])
    num = numerical_gradient(lambda _: np.sum(w**2), w)
    assert rel_error(num, 2 * w) < 1e-8


def test_numerical_gradient_rejects_bad_input():
    with pytest.raises(ValueError, match="float64"):
        numerical_gradient(lambda x: np.sum(x), np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="df"):
        numerical_gradient(lambda x: 2 * x, np.ones(3))
    with pytest.raises(ValueError, match=r"\(2,\)"):
        numerical_gradient(lambda x: 2 * x, np.ones(3), df=np.ones(2))
    with pytest.raises(ValueError, match="NumPy array"):
        numerical_gradient(lambda x: 0.0, [1.0, 2.0])


def test_rel_error_definition():
    a = np.array([1.0, 0.0, -2.0])
    b = np.array([1.1, 0.0, -2.0])
    assert rel_error(a, b) == pytest.approx(0.1 / 2.1, rel=1e-12)
    assert rel_error(b, a) == rel_error(a, b)
    assert rel_error(a, a) == 0.0
    # The 1e-8 floor: two tiny numbers are compared against 1e-8, not against each other.
    assert rel_error(np.array([1e-12]), np.array([0.0])) == pytest.approx(1e-4)
    assert np.isnan(rel_error(np.array([np.nan]), np.array([1.0])))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        rel_error(np.ones(2), np.ones(3))


def test_check_gradient_passes_and_fails():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2))
    good = 3 * x**2
    num = numerical_gradient(lambda x: np.sum(x**3), x)
    assert check_gradient(good, num, name="dx") is None

    bad = good.copy()
    bad[2, 1] += 0.5
    with pytest.raises(AssertionError) as info:
        check_gradient(bad, num, name="dx")
    msg = str(info.value)
    assert "dx" in msg
    first = msg.splitlines()[1]  # the worst entry is listed first
    assert "index (2, 1)" in first
    assert f"{bad[2, 1]:.10g}" in first and f"{num[2, 1]:.10g}" in first
    assert "1 of 6 entries" in msg


def test_check_gradient_fails_on_nan_and_shape():
    num = np.ones((2, 2))
    nan = num.copy()
    nan[0, 1] = np.nan
    with pytest.raises(AssertionError, match=r"index \(0, 1\)"):
        check_gradient(nan, num)
    with pytest.raises(AssertionError, match=r"\(2, 2\)"):
        check_gradient(np.ones((2,)), num, name="db")


def _tiny_layer(seed):
    rng = np.random.default_rng(seed)
    # Moderate weights and inputs away from 0, so that no true gradient entry is tiny:
    # centred differences are only accurate to ~1e-10 in absolute terms.
    params = {"W": 0.5 * rng.standard_normal((3, 4)), "b": 0.5 * rng.standard_normal(3)}
    x = rng.choice([-1.0, 1.0], size=4) * rng.uniform(0.5, 1.5, size=4)
    w_out = rng.standard_normal(3)

    def loss():
        return float(np.sum(np.tanh(params["W"] @ x + params["b"]) * w_out))

    da = (1 - np.tanh(params["W"] @ x + params["b"]) ** 2) * w_out
    grads = {"W": np.outer(da, x), "b": da}
    return loss, params, grads


def test_check_param_grads_passes_on_correct_gradients():
    loss, params, grads = _tiny_layer(5)
    errors = check_param_grads(loss, params, grads)
    assert set(errors) == {"W", "b"}
    assert all(e <= 1e-7 for e in errors.values())


def test_check_param_grads_names_the_wrong_parameter():
    loss, params, grads = _tiny_layer(6)
    grads["b"] = grads["b"] * 1.01
    with pytest.raises(AssertionError) as info:
        check_param_grads(loss, params, grads)
    msg = str(info.value)
    assert "for b:" in msg and "for W:" not in msg


def test_check_param_grads_missing_key():
    loss, params, grads = _tiny_layer(7)
    del grads["W"]
    with pytest.raises(AssertionError, match=r"missing \['W'\]"):
        check_param_grads(loss, params, grads)


def test_check_gradient_hints_when_the_worst_entry_is_tiny():
    with pytest.raises(AssertionError, match="tiny") as info:
        check_gradient(np.array([1.0, 1e-6]), np.array([1.0, 1.1e-6]))
    assert "index (1,)" in str(info.value)
    with pytest.raises(AssertionError) as info:
        check_gradient(np.array([1.0, 2.0]), np.array([1.0, 2.1]))
    assert "Hint" not in str(info.value)


def test_fourth_order_stencil_is_exact_on_quartics():
    # The five-point stencil differentiates polynomials up to degree 4 exactly, even with a large step;
    # the two-point one is off by h^2 f'''/6.
    x = np.array([-1.5, -0.2, 0.7, 2.0])
    exact = 4 * x**3 + 3 * x**2
    f = lambda x: np.sum(x**4 + x**3)  # noqa: E731
    assert rel_error(numerical_gradient(f, x, h=0.1, order=4), exact) < 1e-10
    assert rel_error(numerical_gradient(f, x, h=0.1, order=2), exact) > 1e-4
    with pytest.raises(ValueError, match="order"):
        numerical_gradient(f, x, order=3)


def test_check_param_grads_passes_h_and_order_through():
    params = {"w": np.array([0.5, -1.0, 2.0])}
    grads = {"w": 4 * params["w"] ** 3}
    loss = lambda: float(np.sum(params["w"] ** 4))  # noqa: E731
    check_param_grads(loss, params, grads, h=0.1, order=4)  # exact on a quartic
    with pytest.raises(AssertionError, match="for w:"):
        check_param_grads(loss, params, grads, h=0.1, order=2)
