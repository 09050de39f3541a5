"""How submissions are graded (评分设置): one frozen configuration shared by every entry point."""

import dataclasses
import os

from autograder.kernel import KernelLimits
from autograder.sandbox import Sandbox
from coursekit.checking import PUBLIC_SEED


@dataclasses.dataclass(frozen=True)
class GradingConfig:
    """How submissions are run. Times in seconds, sizes in bytes."""

    timeout: float = 60.0            # per cell (and per item check)
    grace: float = 5.0               # after an interrupt, before the kernel is killed
    max_output_bytes: int = 64 * 1024  # output kept per cell
    max_restarts: int = 3            # kernel crashes/kills tolerated per submission before giving up
    notebook_timeout: float | None = 900.0  # budget for one submission; the rest is skipped when exceeded
    max_result_bytes: int = 64 * 2**20  # a check's packed outcomes larger than this are refused
    max_copy_bytes: int = 20 * 2**20  # the learner's extra files copied next to the notebook
    limits: KernelLimits = KernelLimits()
    launch_prefix: tuple = ()        # command prefix for every kernel (a sandbox wrapper)
    kernel_setup: str = ""           # trusted code run in every kernel before the learner's code
    scratch_dir: str | None = None   # where the per-submission scratch folders are created
    sandbox: "Sandbox | None" = None  # bubblewrap (autograder/sandbox.py); None: kernels run on the host, rlimits only
    sandbox_note: str = ""           # one line saying which protections were active (summary, results files)
    policy: bool = True              # review each submission's code (autograder/policy.py): flags, never points
    hidden: bool = True              # judge on hidden cases (grading); False: the public cases (a self-check)
    warm: bool = True                # fork kernels from a warm zygote per worker (autograder/warm.py) when possible


def draw_secret():
    """The seed of the hidden cases of one grading run (never the public seed the notebooks use)."""
    while True:
        seed = int.from_bytes(os.urandom(8), "little")
        if seed != PUBLIC_SEED:
            return seed
