"""Fixtures of the browser tests: Debian's Chromium driven by Playwright against a real JupyterLab server.

One server (on a temporary copy of the course) and one browser page serve the whole session; screenshots of each
step go to $BROWSER_SCREENSHOTS or a temporary folder, printed at the end of the run.
Without Chromium the tests skip (install it with `apt-get install chromium`); under CI=true that is a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

from labserver import LabServer, copy_course

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
HOW_TO_ENABLE = ("the browser tests need Debian's Chromium and the playwright package: "
                 "`apt-get install chromium` (as root) and `pip install -r requirements.txt`")


def find_chromium():
    """$CHROMIUM when set (and only it), else Debian's chromium."""
    configured = os.environ.get("CHROMIUM")
    candidates = [configured] if configured else [*CHROMIUM_CANDIDATES, shutil.which("chromium")]
    return next((Path(c) for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def unavailable(reason):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; under CI the browser tests must run: {HOW_TO_ENABLE}", pytrace=False)
    pytest.skip(f"{reason}: {HOW_TO_ENABLE}")


@pytest.fixture(scope="session")
def chromium():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed")
    path = find_chromium()
    if path is None:
        unavailable("Chromium not found (looked for " + (os.environ.get("CHROMIUM") or
                                                           ", ".join(CHROMIUM_CANDIDATES) + " and PATH") + ")")
    return path


@pytest.fixture(scope="session")
def screenshots(request, tmp_path_factory):
    from labpage import Screenshots

    folder = os.environ.get("BROWSER_SCREENSHOTS")
    folder = Path(folder) if folder else tmp_path_factory.mktemp("browser-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    request.config._browser_screenshots = folder
    return Screenshots(folder)


@pytest.fixture(scope="session")
def browser_context(chromium, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from labpage import launch_chromium

    with sync_playwright() as playwright:
        context = launch_chromium(playwright, chromium, tmp_path_factory.mktemp("chromium-profile"))
        context.set_default_timeout(60_000)
        yield context
        context.close()


@pytest.fixture(scope="session")
def course_root(tmp_path_factory):
    """A copy of the course (nbgrader config, solutions, course, benchmarks) that the browser may change."""
    return copy_course(tmp_path_factory.mktemp("course-copy"))


@pytest.fixture(scope="session")
def lab(chromium, course_root, tmp_path_factory):
    """JupyterLab serving the course copy, started as the course's instructions say (cwd autograder/)."""
    server = LabServer(course_root, tmp_path_factory.mktemp("lab"))
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lab_page(browser_context, lab):
    """One JupyterLab page for the session; each check opens the documents it needs."""
    from labpage import open_lab

    page = browser_context.new_page()
    open_lab(page, lab, "course")
    yield page
    page.close()


@pytest.fixture
def page_on_failure(request, lab_page, screenshots):
    """The session page; a screenshot is taken when the test fails, to show what the browser showed."""
    yield lab_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        try:
            screenshots(lab_page, f"FAILED-{request.node.name}")
        except Exception:  # the page may be gone; the failure message says what went wrong
            pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def pytest_terminal_summary(terminalreporter, config):
    folder = getattr(config, "_browser_screenshots", None)
    if folder is not None:
        terminalreporter.write_sep("-", "browser tests")
        terminalreporter.write_line(f"screenshots of each step: {folder}")
