"""Invariants of the synthetic sequence tasks in coursekit.tasks, each checked independently of the generator."""

import subprocess
import sys

import numpy as np
import pytest

from coursekit import tasks
from coursekit.tasks import (
    ADDING_BASELINE_MSE,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
    delayed_recall,
    future_marker,
    future_marker_causal_accuracy,
    next_step_sequences,
    to_torch,
)

# (name, call with a given rng and batch_first) for the properties every generator shares.
GENERATORS = {
    "adding": lambda rng, bf=False: adding_problem(5, 9, rng=rng, batch_first=bf),
    "copy": lambda rng, bf=False: copy_memory(5, 7, n_symbols=4, length=3, rng=rng, batch_first=bf),
    "recall": lambda rng, bf=False: delayed_recall(5, 6, noise=0.5, rng=rng, batch_first=bf),
    "future": lambda rng, bf=False: future_marker(5, 9, p=0.3, rng=rng, batch_first=bf),
    "next_step": lambda rng, bf=False: next_step_sequences(5, 9, rng=rng, batch_first=bf),
}


def test_import_needs_only_numpy():
    code = "import coursekit.tasks, sys; assert not {'torch', 'matplotlib'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------------------------------------------
# Shared properties: seeds, layouts, dtypes
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_and_other_seed_other_data(name):
    make = GENERATORS[name]
    first, again, other = make(3), make(3), make(4)
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))


@pytest.mark.parametrize("name", GENERATORS)
def test_a_shared_generator_gives_fresh_batches(name):
    make = GENERATORS[name]
    rng = np.random.default_rng(0)
    xs1, _ = make(rng)
    xs2, _ = make(rng)
    assert not np.array_equal(xs1, xs2)


@pytest.mark.parametrize("name", GENERATORS)
def test_batch_first_is_the_transposed_sequence_first_data(name):
    make = GENERATORS[name]
    xs, ys = make(7)
    xs_bf, ys_bf = make(7, True)
    np.testing.assert_array_equal(xs_bf, np.swapaxes(xs, 0, 1))
    assert xs.dtype == np.float64 and xs_bf.flags.c_contiguous
    # Per-step targets are transposed too; one-per-sequence targets (B, ...) are the same in both layouts.
    if ys.shape[0] == xs.shape[0]:
        np.testing.assert_array_equal(ys_bf, np.swapaxes(ys, 0, 1))
    else:
        np.testing.assert_array_equal(ys_bf, ys)


@pytest.mark.parametrize("rng", [None, 1.5, "0", True])
def test_rng_must_be_a_seed_or_generator(rng):
    with pytest.raises(ValueError, match="rng"):
        adding_problem(2, 4, rng=rng)


# ----------------------------------------------------------------------------------------------------------------
# Adding problem
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("T", [2, 3, 10, 51])
def test_adding_target_is_the_sum_of_the_two_marked_values(T):
    B = 200
    xs, ys = adding_problem(B, T, rng=T)
    assert xs.shape == (T, B, 2) and ys.shape == (B, 1)
    values, markers = xs[..., 0], xs[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    for b in range(B):
        (marked,) = np.nonzero(markers[:, b])
        assert len(marked) == 2, f"sequence {b} has markers at {marked}"
        assert marked[0] < T // 2 <= marked[1], f"T={T}: markers {marked} are not one per half"
        assert ys[b, 0] == values[marked[0], b] + values[marked[1], b]


def test_adding_markers_cover_every_position_of_each_half():
    T = 8
    xs, _ = adding_problem(2000, T, rng=0)
    assert np.all(xs[..., 1].sum(axis=1) > 0), "some position never receives a marker"


def test_constant_one_scores_the_documented_baseline_mse():
    _, ys = adding_problem(200_000, 4, rng=2024)
    assert abs(ys.mean() - 1.0) < 0.005  # 1.0 is the best constant answer
    assert abs(np.mean((ys - 1.0) ** 2) - 1 / 6) < 0.005
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch=4, T=1), r"T must be >= 2 \(one marker goes in each half"),
        (dict(batch=0, T=5), "batch must be >= 1"),
        (dict(batch=4, T=5.0), "T must be an integer"),
    ],
)
def test_adding_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        adding_problem(**kwargs, rng=0)


# ----------------------------------------------------------------------------------------------------------------
# Copy memory
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("T_delay, n_symbols, length", [(1, 8, 10), (12, 3, 4), (30, 8, 10)])
def test_copy_target_repeats_the_input_symbols_after_the_delimiter(T_delay, n_symbols, length):
    B = 50
    xs, ys = copy_memory(B, T_delay, n_symbols=n_symbols, length=length, rng=1)
    T_total = T_delay + 2 * length
    assert xs.shape == (T_total, B, n_symbols + 2) and ys.shape == (T_total, B) and ys.dtype == np.int64
    np.testing.assert_array_equal(xs.sum(axis=-1), 1.0)  # one-hot
    tokens = xs.argmax(axis=-1)
    delimiter = n_symbols + 1
    for b in range(B):
        seq, target = tokens[:, b], ys[:, b]
        assert np.all((seq[:length] >= 1) & (seq[:length] <= n_symbols))
        (where,) = np.nonzero(seq == delimiter)
        assert list(where) == [length + T_delay - 1]
        assert np.all(np.delete(seq[length:], T_delay - 1) == 0), "only blanks besides symbols and delimiter"
        np.testing.assert_array_equal(target[-length:], seq[:length])
        assert np.all(target[:-length] == 0)


def test_copy_baseline_matches_the_best_position_only_predictor():
    T_delay, n_symbols, length = 15, 5, 4
    _, ys = copy_memory(40_000, T_delay, n_symbols=n_symbols, length=length, rng=3)
    # Best memoryless model: the class frequencies at each step; its cross-entropy is the per-step entropy.
    entropies = []
    for t in range(ys.shape[0]):
        freq = np.bincount(ys[t], minlength=n_symbols + 1) / ys.shape[1]
        freq = freq[freq > 0]
        entropies.append(-(freq * np.log(freq)).sum())
    assert copy_memory_baseline(T_delay, n_symbols=n_symbols, length=length) == pytest.approx(
        np.mean(entropies), abs=2e-3
    )


def test_copy_rejects_a_zero_delay():
    with pytest.raises(ValueError, match="T_delay must be >= 1"):
        copy_memory(4, 0, rng=0)


# ----------------------------------------------------------------------------------------------------------------
# Delayed recall
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("delay", [0, 1, 25])
def test_recall_target_is_the_symbol_shown_at_step_zero(delay):
    xs, ys = delayed_recall(300, delay, n_classes=5, rng=4)
    assert xs.shape == (delay + 1, 300, 5) and ys.shape == (300,) and ys.dtype == np.int64
    np.testing.assert_array_equal(xs[0], np.eye(5)[ys])
    assert np.all(xs[1:] == 0), "noise=0 gives blank delay steps"
    assert set(np.unique(ys)) == set(range(5))


def test_recall_noise_has_the_requested_spread_and_spares_step_zero():
    xs, ys = delayed_recall(4000, 10, n_classes=3, noise=0.7, rng=5)
    np.testing.assert_array_equal(xs[0], np.eye(3)[ys])
    assert xs[1:].std() == pytest.approx(0.7, rel=0.02)
    assert abs(xs[1:].mean()) < 0.01


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(delay=-1), "delay must be >= 0"), (dict(delay=3, n_classes=1), "n_classes must be >= 2"),
     (dict(delay=3, noise=-0.1), "noise .* must be >= 0")],
)
def test_recall_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        delayed_recall(4, **kwargs, rng=0)


# ----------------------------------------------------------------------------------------------------------------
# Future marker (notebook 05)
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("T, p", [(2, 0.5), (12, 0.1), (30, 0.05)])
def test_future_marker_labels_match_a_brute_force_loop(T, p):
    B = 100
    xs, ys = future_marker(B, T, p=p, rng=6)
    assert xs.shape == (T, B, 1) and ys.shape == (T, B)
    assert set(np.unique(xs)) <= {0.0, 1.0}
    expected = np.zeros((T, B))
    for b in range(B):
        for t in range(T):
            expected[t, b] = float(any(xs[s, b, 0] == 1 for s in range(t + 1, T)))
    np.testing.assert_array_equal(ys, expected)
    assert 0 < ys.mean() < 1, "both labels should occur"


def test_future_marker_causal_accuracy_matches_the_best_per_step_guess():
    T, p = 16, 0.08
    _, ys = future_marker(50_000, T, p=p, rng=7)
    # A model that cannot see the future can only use t: its best answer is the majority label at each step.
    majority_accuracy = np.maximum(ys.mean(axis=1), 1 - ys.mean(axis=1)).mean()
    assert future_marker_causal_accuracy(T, p=p) == pytest.approx(majority_accuracy, abs=3e-3)
    assert future_marker_causal_accuracy(T, p=p) < 0.95  # there is something left for a bidirectional model


@pytest.mark.parametrize("p", [0.0, 1.0, -0.2])
def test_future_marker_rejects_degenerate_probabilities(p):
    with pytest.raises(ValueError, match="p must lie strictly between 0 and 1"):
        future_marker(4, 5, p=p, rng=0)


# ----------------------------------------------------------------------------------------------------------------
# Next-step sequences (notebook 05)
# ----------------------------------------------------------------------------------------------------------------

def test_next_step_target_is_the_next_input():
    xs, ys = next_step_sequences(8, 20, rng=8)
    assert xs.shape == ys.shape == (20, 8, 1)
    np.testing.assert_array_equal(ys[:-1], xs[1:])


def test_next_step_best_causal_mse_is_one_minus_a_squared():
    a = 0.8
    xs, ys = next_step_sequences(20_000, 10, a=a, rng=9)
    x, y = xs.ravel(), ys.ravel()
    assert x.var() == pytest.approx(1.0, abs=0.02)  # stationary
    slope = (x @ y) / (x @ x)  # least-squares predictor of the next value from the current one
    assert slope == pytest.approx(a, abs=0.01)
    assert np.mean((y - a * x) ** 2) == pytest.approx(1 - a**2, abs=0.01)


def test_next_step_rejects_a_non_stationary_coefficient():
    with pytest.raises(ValueError, match="a must lie strictly between -1 and 1"):
        next_step_sequences(4, 5, a=1.0, rng=0)


# ----------------------------------------------------------------------------------------------------------------
# to_torch
# ----------------------------------------------------------------------------------------------------------------

def test_to_torch_dtypes_and_values():
    torch = pytest.importorskip("torch")
    xs, ys = copy_memory(3, 4, n_symbols=2, length=2, rng=0)
    txs, tys = to_torch(xs, ys)
    assert txs.dtype == torch.float32 and tys.dtype == torch.long
    np.testing.assert_array_equal(txs.numpy(), xs.astype(np.float32))
    np.testing.assert_array_equal(tys.numpy(), ys)
    assert to_torch(xs, dtype=torch.float64).dtype == torch.float64
    assert to_torch(ys.astype(np.int32)).dtype == torch.long
    assert to_torch(np.array([True])).dtype == torch.bool
    txs[0] = 99.0
    assert xs.max() == 1.0, "the tensor must not share memory with the task's array"


def test_to_torch_rejects_bad_input():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="at least one array"):
        to_torch()
    with pytest.raises(ValueError, match="floating torch dtype"):
        to_torch(np.zeros(2), dtype=torch.int64)
    with pytest.raises(ValueError, match="expected floats, integers or booleans"):
        to_torch(np.array(["a"]))


def test_public_names_are_documented():
    for name in ["adding_problem", "copy_memory", "copy_memory_baseline", "delayed_recall", "future_marker",
                 "future_marker_causal_accuracy", "next_step_sequences", "to_torch"]:
        assert getattr(tasks, name).__doc__, name
