"""Screenshot of a failed check in JupyterLab, for the README: notebook 02 with z and 1 - z swapped in
gru_cell_forward, Run All (which stops at that exercise's check), the check's output scrolled into view.

    python benchmarks/screenshot_failed_check.py [--out benchmarks/screenshots/failed-check.png]

Needs Debian's Chromium (`apt-get install chromium`, or $CHROMIUM) and the browser tests' requirements. The server
runs on a temporary copy of the course, as in the browser tests (tests/browser/), whose machinery this reuses.
Prints the output area's height against the screen's notebook area; exits 1 when the failure does not fit.
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))  # labserver, labpage, failedcheck: the browser tests' modules

from conftest import find_chromium  # noqa: E402
from failedcheck import STUDENT, VIEWPORT, show_failed_check, write_swapped_update_notebook  # noqa: E402
from labpage import launch_chromium, open_lab  # noqa: E402
from labserver import LabServer, copy_course  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "screenshots" / "failed-check.png"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        sys.exit("Chromium not found: `apt-get install chromium`, or set $CHROMIUM")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="failed-check-") as scratch:
        scratch = Path(scratch)
        root = copy_course(scratch / "course-copy")
        # The learner's own file name, so that the tab reads gru_numpy.ipynb as it would for them.
        path = write_swapped_update_notebook(root, STUDENT)
        with LabServer(root, scratch / "lab") as server, sync_playwright() as playwright:
            context = launch_chromium(playwright, chromium, scratch / "chromium-profile")
            context.set_default_timeout(60_000)
            try:
                page = context.new_page()
                page.set_viewport_size(VIEWPORT)
                open_lab(page, server, "failed-check")
                problems, seen = show_failed_check(page, path)
                if problems:
                    sys.exit("\n".join(problems))
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
            finally:
                context.close()

    print(f"wrote {args.out} ({VIEWPORT['width']}x{VIEWPORT['height']})")
    print(f"check cell's output: {seen.error_name}, {len(seen.text.strip().splitlines())} lines, "
          f"{seen.height:.0f} px high; the notebook area shows {seen.area_height:.0f} px "
          f"(viewport {seen.viewport_height} px); fully in view: {seen.fully_in_view}")
    print(seen.text.strip())
    return 0 if seen.fully_in_view and seen.height < seen.area_height else 1


if __name__ == "__main__":
    sys.exit(main())
