"""What a clean room sends back is decoded strictly (autograder/checkdata.py): only what coursekit.checking.pack
writes is accepted; zip bombs, pickles, odd dtypes, lying headers and malformed layouts are refused with a reason.
Per-item seeds differ per student and item and never reveal the run's secret."""

import base64
import io
import json
import zipfile

import numpy as np
import pytest

import autograder_synthetic as syn
from autograder.checkdata import BadResult, decode_payloads, item_seed, read_packed
from autograder.judging import Judgement, judge_result
from coursekit.checking import PUBLIC_SEED, call_learner, cases_for, pack, unpack


def _result(fn=lambda x: 2 * x, seed=7):
    outcomes = call_learner(syn.DOUBLE, fn, cases_for(syn.DOUBLE, seed, True))
    return {"missing": False, "outcomes": outcomes}


def _npz(members, compress=zipfile.ZIP_STORED):
    """An npz built by hand: {name: bytes of a .npy file}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compress) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _layout(tree):
    return _npy(np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8))


def test_what_pack_writes_reads_back_like_unpack():
    data = pack(_result())
    strict, loose = read_packed(data), unpack(data)
    assert strict.keys() == loose.keys() and len(strict["outcomes"]) == len(loose["outcomes"]) == 4
    for a, b in zip(strict["outcomes"], loose["outcomes"]):
        np.testing.assert_array_equal(a["output"], b["output"])
    assert read_packed(pack({"t": (1.5, True, None, "text", {"k": np.arange(3)})}))["t"][4]["k"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("data, reason", [
    (_npz({"__layout__.npy": _layout({"v": None})}, zipfile.ZIP_DEFLATED), "compressed"),
    (_npz({"__layout__.npy": _layout({"a": "a0", "s": False}), "a0.npy": _npy(np.array([object()], dtype=object),
                                                                                  allow_pickle=True)}), "dtype"),
    (_npz({"__layout__.npy": _layout({"a": "a0", "s": False}), "a0.npy": _npy(np.array(["text"]))}), "dtype"),
    (_npz({"__layout__.npy": _layout({"a": "a0", "s": False}),
           "a0.npy": _npy(np.zeros(2, dtype=[("x", "f8"), ("y", "f8")]))}), "dtype"),
    (_npz({"__layout__.npy": _layout({"a": "a0", "s": False}), "a0.npy": _npy(np.zeros(3, dtype=complex))}),
     "dtype"),
    (_npz({"__layout__.npy": _layout({"v": None}), "evil.npy": _npy(np.zeros(1))}), "unexpected member"),
    (_npz({"__layout__.npy": _layout({"a": "a1", "s": False}), "a0.npy": _npy(np.zeros(1))}), "missing"),
    (_npz({"__layout__.npy": _layout({"v": None}), "a0.npy": _npy(np.zeros(1))}), "does not use"),
    (_npz({"__layout__.npy": _layout({"v": [1, 2]})}), "layout value"),
    (_npz({"__layout__.npy": _layout({"x": 1})}), "unknown layout node"),
    (_npz({"__layout__.npy": _layout({"t": [{"a": "a0", "s": False}, {"a": "a0", "s": False}]}),
           "a0.npy": _npy(np.zeros(1))}), "used twice"),
    (_npz({"a0.npy": _npy(np.zeros(1))}), "layout"),
    (b"\x80\x04pickle", "not an npz"),
])
def test_anything_else_is_refused_with_a_reason(data, reason):
    with pytest.raises(BadResult, match=reason):
        read_packed(data)


def test_deep_nesting_and_lying_headers_are_refused():
    deep = {"v": None}
    for _ in range(100):
        deep = {"t": [deep]}
    with pytest.raises(BadResult, match="deeper"):
        read_packed(_npz({"__layout__.npy": _layout(deep)}))
    lying = _npy(np.zeros(4))[:-8]  # the header says 4 values, the file holds 3
    with pytest.raises(BadResult, match="header announces"):
        read_packed(_npz({"__layout__.npy": _layout({"a": "a0", "s": False}), "a0.npy": lying}))
    huge = io.BytesIO()
    np.lib.format.write_array_header_1_0(huge, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with pytest.raises(BadResult, match="header announces"):  # no terabyte allocation on the grader's side
        read_packed(_npz({"__layout__.npy": _layout({"a": "a0", "s": False}),
                          "a0.npy": b"\x93NUMPY\x01\x00" + huge.getvalue()[8:] + b"\0" * 64}))


def test_size_limits():
    data = pack(_result())
    with pytest.raises(BadResult):
        read_packed(data, max_bytes=len(data) - 1)
    text = base64.b64encode(data).decode()
    assert decode_payloads([text], 10)[1] == "result-too-large"
    assert decode_payloads([], 10**6)[1] == "no-result"
    assert decode_payloads([text, text], 10**6)[1] == "bad-result"
    assert decode_payloads(["not base64!"], 10**6)[1] == "bad-result"
    assert decode_payloads([text], 10**6)[0] == data


def test_judge_result_uses_the_cases_the_grader_drew():
    text = base64.b64encode(pack(_result(seed=7))).decode()
    def judged(texts, seed):
        return judge_result(syn.DOUBLE, cases_for(syn.DOUBLE, seed, True), texts, 10**6)

    assert judged([text], 7) == Judgement(True, "double: all 4 cases pass.", None)
    assert judged([text], 8).passed is False  # outputs for other inputs
    wrong = base64.b64encode(pack(_result(fn=lambda x: x))).decode()
    verdict = judged([wrong], 7)
    assert not verdict.passed and "x was returned unchanged" in verdict.message and verdict.flag is None


def test_item_seeds_are_per_student_and_item_and_hide_the_secret():
    seeds = {item_seed(secret, student, gid) for secret in (1, 2) for student in ("ann", "ben")
             for gid in ("test_a", "test_b")}
    assert len(seeds) == 8 and PUBLIC_SEED not in seeds and all(0 <= s < 2**64 for s in seeds)
    assert item_seed(1, "ann", "test_a") == item_seed(1, "ann", "test_a")
    assert all(s not in (1, 2) for s in seeds)
