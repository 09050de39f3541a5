"""The grading kernel on its own: crashes, limits, interrupts and the output cap, with a real ipykernel."""

import pytest

from autograder.kernel import Kernel, KernelLimits

pytestmark = pytest.mark.slow


@pytest.fixture
def start(tmp_path):
    kernels = []

    def start(**options):
        kernel = Kernel(tmp_path, **options).start()
        kernels.append(kernel)
        return kernel

    yield start
    for kernel in kernels:
        kernel.kill()


def test_runs_in_the_scratch_folder_and_reports_errors(start, tmp_path):
    kernel = start()
    run = kernel.run("import os\nprint(os.getcwd())\n1 / 0")
    assert run.status == "error" and run.error[0] == "ZeroDivisionError" and run.kernel_alive
    assert run.outputs[0]["text"].strip() == str(tmp_path)


def test_the_graders_ipython_profile_is_not_used(start, tmp_path, monkeypatch):
    profile = tmp_path / "ipython-of-the-grader"
    (profile / "profile_default" / "startup").mkdir(parents=True)
    (profile / "profile_default" / "startup" / "00-leak.py").write_text("LEAKED = True")
    monkeypatch.setenv("IPYTHONDIR", str(profile))
    run = start().run("print('LEAKED' in globals(), get_ipython().history_manager.enabled)")
    assert run.outputs[0]["text"] == "False False\n"


def test_interrupt_stops_an_ordinary_endless_loop_and_the_kernel_lives_on(start):
    kernel = start()
    run = kernel.run("while True:\n    pass", timeout=1, grace=10)
    assert (run.status, run.kernel_alive) == ("timeout", True)
    assert kernel.run("print(6 * 7)").outputs[0]["text"] == "42\n"


def test_segfault_and_exit_are_reported_as_died(start):
    run = start().run("import ctypes\nctypes.string_at(0)")
    assert (run.status, run.kernel_alive) == ("died", False) and "SIGSEGV" in run.detail
    run = start().run("import os\nos._exit(3)")
    assert run.status == "died" and "code 3" in run.detail


def test_address_space_limit_turns_a_huge_allocation_into_memory_error(start):
    kernel = start(limits=KernelLimits(address_space=3 * 2**30))
    run = kernel.run("import numpy as np\nx = np.ones(2**31)")
    assert run.status == "error" and run.error[0] == "MemoryError" and run.kernel_alive


def test_file_size_limit(start):
    kernel = start(limits=KernelLimits(file_size=10_000))
    run = kernel.run("import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
                     "open('big', 'wb').write(b'x' * 100_000)")
    assert run.status == "error" and run.error[0] == "OSError"


def test_output_of_one_giant_line_is_capped_in_bytes(start):
    run = start().run("print('€' * 1_000_000)", max_output_bytes=3000)
    text = "".join(o.get("text", "") for o in run.outputs if o.get("name") == "stdout")
    assert 0 < len(text.encode()) <= 3000 and set(text) == {"€"}
    assert "bytes of output were dropped" in run.outputs[-1]["text"]
