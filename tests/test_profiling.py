"""coursekit.profiling: operator counts and call times, the evidence behind notebook 04's GRU vs LSTM timing."""

import time

import pytest
import torch
from torch import nn

from coursekit.profiling import aten_ops, median_call_ms


@pytest.fixture
def sequence():
    torch.manual_seed(0)
    return torch.randn(20, 4, 8)


def test_the_cpu_lstm_is_one_onednn_call_and_the_gru_is_many_small_ops(sequence):
    gru, lstm = nn.GRU(8, 16), nn.LSTM(8, 16)
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=True):
        gru_ops, lstm_ops = aten_ops(lambda: gru(sequence)), aten_ops(lambda: lstm(sequence))
    assert lstm_ops.by_name.get("aten::mkldnn_rnn_layer") == 1 and lstm_ops.slowest == "aten::mkldnn_rnn_layer"
    assert "aten::mkldnn_rnn_layer" not in gru_ops.by_name
    T = sequence.shape[0]
    assert gru_ops.by_name["aten::sigmoid_"] == 2 * T and gru_ops.by_name["aten::tanh_"] == T  # r, z and n per step
    assert gru_ops.total > 20 * lstm_ops.total


def test_without_onednn_the_lstm_is_decomposed_too(sequence):
    lstm = nn.LSTM(8, 16)
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
        ops = aten_ops(lambda: lstm(sequence))
    assert "aten::mkldnn_rnn_layer" not in ops.by_name
    assert ops.by_name["aten::sigmoid_"] == 3 * sequence.shape[0]  # input, forget and output gates per step
    assert ops.most_common(1)[0][1] >= sequence.shape[0]


def test_aten_ops_refuses_a_function_without_torch_work():
    with pytest.raises(ValueError, match="no ATen operator"):
        aten_ops(lambda: sum(range(10)))


def test_median_call_ms_measures_cpu_work_not_sleep():
    def busy():
        end = time.process_time() + 0.02
        while time.process_time() < end:
            pass

    assert median_call_ms(busy, repeats=3) == pytest.approx(20, abs=8)
    assert median_call_ms(lambda: time.sleep(0.02), repeats=3) < 5  # sleeping costs no CPU time


def test_median_call_ms_calls_warmup_then_repeats():
    def slow_enough():  # one call outlasts min_sample_s, so each sample is a single call
        calls.append(1)
        end = time.process_time() + 0.003
        while time.process_time() < end:
            pass

    calls = []
    median_call_ms(slow_enough, repeats=4, warmup=2)
    assert len(calls) == 2 + 1 + 4  # warm-up, the one calibration sample, the timed samples


def test_median_call_ms_times_a_fast_call_over_many_calls():
    calls = []
    per_call = median_call_ms(lambda: calls.append(1), repeats=3, min_sample_s=0.001)
    assert per_call > 0  # never zero, even though one call is far below any clock's tick
    assert len(calls) > 3 * 100  # the samples repeat the call
    with pytest.raises(ValueError):
        median_call_ms(lambda: None, repeats=0)
    with pytest.raises(ValueError):
        median_call_ms(lambda: None, warmup=-1)
