"""coursekit.experiments (the adding-problem run shared by notebook 06 and benchmarks/adding_sweep.py) and
coursekit.data (the shipped sweep results)."""

import numpy as np
import pytest

from coursekit import data
from coursekit.ablation import VARIANTS
from coursekit.experiments import TEST_SEED, adding_test_set, train_on_adding
from coursekit.tasks import adding_problem

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_a_run_is_deterministic_and_reports_its_test_error():
    first = train_on_adding("gru", 6, steps=5, seed=3, hidden_size=4, batch=8, test_size=50)
    again = train_on_adding("gru", 6, steps=5, seed=3, hidden_size=4, batch=8, test_size=50)
    other = train_on_adding("gru", 6, steps=5, seed=4, hidden_size=4, batch=8, test_size=50)
    assert first["losses"] == again["losses"] and first["test_mse"] == again["test_mse"]
    assert first["losses"] != other["losses"]
    assert len(first["losses"]) == 5 and first["train_mse"] == pytest.approx(np.mean(first["losses"]))
    assert {first[k] for k in ("cell", "T", "seed", "steps")} == {"gru", 6, 3, 5}
    assert first["cpu_seconds"] >= 0 and first["wall_seconds"] >= 0


def test_the_test_error_is_measured_on_the_fixed_test_set():
    run = train_on_adding("rnn", 7, steps=2, seed=0, hidden_size=3, batch=4, test_size=20)
    xs, ys = adding_test_set(7, 20)
    expected_xs, expected_ys = adding_problem(20, 7, rng=TEST_SEED + 7)
    assert np.array_equal(xs.numpy(), expected_xs.astype(np.float32))
    assert np.array_equal(ys.numpy(), expected_ys.astype(np.float32))
    assert 0 < run["test_mse"] < 10


def test_the_shipped_sweep_has_every_model_length_and_seed():
    sweep = data.load_adding_sweep()
    assert set(sweep) >= {"cell", "T", "seed", "steps", "test_mse", "train_mse", "cpu_seconds"}
    assert set(sweep["cell"]) == {"rnn", "lstm", "gru"}
    assert sweep["T"].dtype == np.int64 and sweep["test_mse"].dtype == np.float64
    combos = set(zip(sweep["cell"], sweep["T"], sweep["seed"]))
    lengths, seeds = set(sweep["T"]), set(sweep["seed"])
    assert len(combos) == len(sweep["cell"]) == 3 * len(lengths) * len(seeds)  # complete, no duplicates
    assert len(lengths) >= 4 and len(seeds) >= 2
    assert np.all(np.isfinite(sweep["test_mse"])) and np.all(sweep["test_mse"] > 0)


def test_the_shipped_gate_ablation_is_complete_and_its_full_gru_is_the_sweeps():
    ablation = data.load_gate_ablation()
    assert set(ablation["cell"]) == set(VARIANTS)
    combos = set(zip(ablation["cell"], ablation["T"], ablation["seed"]))
    lengths, seeds = set(ablation["T"]), set(ablation["seed"])
    assert len(combos) == len(ablation["cell"]) == len(VARIANTS) * len(lengths) * len(seeds)
    assert len(lengths) >= 3 and len(seeds) >= 2
    assert np.all(np.isfinite(ablation["test_mse"])) and np.all(ablation["test_mse"] > 0)
    # Same protocol and seeds as the sweep: the ablation's full GRU repeats the sweep's GRU runs (up to rounding).
    sweep = data.load_adding_sweep()
    sweep_gru = {(T, seed): mse for cell, T, seed, mse in zip(sweep["cell"], sweep["T"], sweep["seed"],
                                                               sweep["test_mse"]) if cell == "gru"}
    shared = 0
    for cell, T, seed, mse in zip(ablation["cell"], ablation["T"], ablation["seed"], ablation["test_mse"]):
        if cell == "gru" and (T, seed) in sweep_gru:
            assert mse == pytest.approx(sweep_gru[T, seed], rel=1e-2), (T, seed)
            shared += 1
    assert shared >= 6


def test_a_gru_variant_trains_on_the_adding_problem():
    run = train_on_adding("gru_reset_only", 6, steps=3, seed=0, hidden_size=4, batch=8, test_size=20)
    assert run["cell"] == "gru_reset_only" and len(run["losses"]) == 3 and np.isfinite(run["test_mse"])


def test_a_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="coursekit/data/no_such_file.csv is missing"):
        data.read_csv("no_such_file.csv")
