"""Without Chromium the browser tests skip and say how to enable them, except under CI=true where they fail."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
A_BROWSER_TEST = f"{HERE / 'test_lab_instructor.py'}::test_formgrader_lists_every_assignment"


def run_without_chromium(ci):
    environment = dict(os.environ, CHROMIUM=str(HERE / "no-such-chromium"), CI="true" if ci else "false")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rsfE", A_BROWSER_TEST],
                          cwd=HERE.parents[1], env=environment, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_missing_chromium_skips_with_instructions():
    result = run_without_chromium(ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout and "apt-get install chromium" in result.stdout, result.stdout


@pytest.mark.slow
def test_missing_chromium_fails_under_ci():
    result = run_without_chromium(ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout and "under CI the browser tests must run" in result.stdout, result.stdout
