"""Driving JupyterLab in a browser page the way a learner or an instructor does, with checks that return problems.

Each ``*_problems`` function returns a list of messages (empty: all is well) instead of asserting, so that tests
can also assert that a deliberately broken course IS reported. The page is a Playwright ``Page``; the server runs
with ``--LabApp.expose_app_in_browser`` so that ``window.jupyterapp`` gives the notebook model the page shows.
"""

import re
import time

from cellrules import cell_problems, classify

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium tries to reach Google's services and the closed network refuses its connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOAD_TIMEOUT_MS = 90_000
RUN_TIMEOUT_S = 180  # Run All of one notebook (each runs in < 30 s outside a browser)
VALIDATE_TIMEOUT_MS = 180_000
SUCCESS_TEXT = "Success! Your notebook passes all the tests."

# The notebook in the main area, its cells as nbformat dicts (with the outputs the page holds) and kernel status.
SNAPSHOT_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) { return null; }
  const model = panel.content.model;
  const cells = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i).toJSON();
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    cells.push({id: cell.id, cell_type: cell.cell_type, source: source, metadata: cell.metadata || {},
                execution_count: cell.execution_count ?? null, outputs: cell.outputs || []});
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {path: panel.context.path, kernel: kernel ? kernel.status : null, cells: cells};
}"""

# Per cell of the page, what the learner sees in its output area: images, sliders, widgets that failed.
DOM_JS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')).map(cell => {
  const out = cell.querySelector('.jp-OutputArea');
  if (!out) { return {images: 0, sliders: 0, widget_errors: []}; }
  const errors = Array.from(out.querySelectorAll('.jp-OutputArea-output'))
    .map(e => e.innerText).filter(t => /Error displaying widget|Loading widget\\.\\.\\./.test(t));
  return {images: out.querySelectorAll('img').length, sliders: out.querySelectorAll('.widget-slider').length,
          widget_errors: errors};
})"""

# The notebook ``path`` is loaded from the server and its kernel has started and is idle.
READY_JS = """path => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.context || panel.context.path !== path || !panel.context.isReady) { return false; }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return panel.sessionContext.isReady && !!kernel && kernel.status === 'idle';
}"""

# Cells are added to the page in batches: wait for all of them, markdown rendered.
ALL_CELLS_SHOWN_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const shown = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell');
  return panel && panel.content.model && shown.length === panel.content.model.cells.length &&
         Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-MarkdownCell'))
              .every(c => c.classList.contains('jp-mod-rendered'));
}"""

# Busy while the kernel works or any cell is queued or running ([*]).
BUSY_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  const running = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt'))
    .some(p => p.textContent.includes('*'));
  return {kernel: kernel ? kernel.status : null, running: running};
}"""

# Close every document without asking to save (the course copy is thrown away), shutting down their kernels.
CLOSE_ALL_JS = """async () => {
  for (const widget of Array.from(window.jupyterapp.shell.widgets('main'))) {
    if (widget.sessionContext) { try { await widget.sessionContext.shutdown(); } catch (e) {} }
    if (widget.context && widget.context.model) { widget.context.model.dirty = false; }
    widget.close();
  }
}"""


def launch_chromium(playwright, executable, user_data_dir):
    """Headless Debian Chromium with a fresh profile; returns a BrowserContext (close it when done)."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(executable), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 900})


class Screenshots:
    """Numbered screenshots of each step into one folder (the tests print where)."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.last = None

    def __call__(self, page, name, full_page=False):
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.last = path
        return path


def open_lab(page, server, workspace):
    """Load JupyterLab in ``page`` in a fresh workspace and wait until the application is ready."""
    page.goto(server.lab_url(workspace))
    page.wait_for_selector("#jp-main-dock-panel", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=LOAD_TIMEOUT_MS)
    dismiss_dialogs(page)


def dismiss_dialogs(page):
    for _ in range(3):
        dialog = page.locator(".jp-Dialog")
        if dialog.count() == 0:
            return
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)


def close_all(page):
    dismiss_dialogs(page)
    page.evaluate(CLOSE_ALL_JS)
    page.wait_for_function("() => document.querySelectorAll('.jp-NotebookPanel').length === 0", timeout=20_000)


def open_notebook(page, path):
    """Open ``path`` (relative to the server root) as a learner does, and wait for its kernel to be idle.

    Returns a list of problems (empty when the notebook opened with a running kernel).
    """
    close_all(page)
    folder, _, name = path.rpartition("/")
    # Like a learner: go to the notebook's folder in the file browser and double-click the notebook.
    page.evaluate("folder => window.jupyterapp.commands.execute('filebrowser:go-to-path', {path: '/' + folder})",
                  folder)
    item = page.locator(".jp-DirListing-content .jp-DirListing-item",
                        has=page.locator(".jp-DirListing-itemText", has_text=re.compile(rf"^{re.escape(name)}$")))
    try:
        item.first.wait_for(timeout=30_000)
        item.first.dblclick()
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=LOAD_TIMEOUT_MS)
        page.wait_for_function(READY_JS, arg=path, timeout=LOAD_TIMEOUT_MS)
        page.wait_for_function(ALL_CELLS_SHOWN_JS, timeout=LOAD_TIMEOUT_MS)
    except Exception as error:  # Playwright's TimeoutError and errors of a page that went away
        return [f"{path} did not open with an idle kernel: {str(error).splitlines()[0]}"]
    dismiss_dialogs(page)
    return []


def run_all_from_menu(page):
    """Run > Run All Cells in the menu bar; returns False when no cell started running."""
    before = page.evaluate(SNAPSHOT_JS)
    counts = [c["execution_count"] for c in before["cells"]]
    name = before["path"].rsplit("/", 1)[-1]
    for _ in range(2):  # a menu opened while the page still settles can miss the click: try once more
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name).first.click()  # focus the notebook
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))
        item = page.locator(".lm-Menu-item:not(.lm-mod-disabled)", has=label)
        item.wait_for(timeout=10_000)
        item.click()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            state = page.evaluate(BUSY_JS)
            now = [c["execution_count"] for c in page.evaluate(SNAPSHOT_JS)["cells"]]
            if state["running"] or state["kernel"] == "busy" or now != counts:
                return True
            page.wait_for_timeout(250)
        page.keyboard.press("Escape")
    return False


def wait_until_idle(page, timeout_s=RUN_TIMEOUT_S):
    """Wait until no cell is queued or running and the kernel is idle (three readings in a row)."""
    deadline = time.monotonic() + timeout_s
    calm = 0
    while time.monotonic() < deadline:
        state = page.evaluate(BUSY_JS)
        calm = calm + 1 if (state["kernel"] == "idle" and not state["running"]) else 0
        if calm >= 3:
            return True
        page.wait_for_timeout(500)
    return False


def snapshot(page):
    """The current notebook's cells (model) merged with what each cell's output area shows (DOM)."""
    data = page.evaluate(SNAPSHOT_JS)
    shown = page.evaluate(DOM_JS)
    if len(shown) != len(data["cells"]):
        raise RuntimeError(f"the page shows {len(shown)} cells but the notebook has {len(data['cells'])}")
    for cell, seen in zip(data["cells"], shown):
        cell.update(seen)
    return data["cells"]


def wait_for_figures(page, timeout_s=8):
    """Images and widgets render a moment after the kernel is idle: wait until each figure cell shows one."""
    deadline = time.monotonic() + timeout_s
    while True:
        cells = snapshot(page)
        kinds = classify(cells)
        missing = [i for i, (cell, kind) in enumerate(zip(cells, kinds))
                   if cell["cell_type"] == "code" and cell["execution_count"] is not None
                   and not any(o.get("output_type") == "error" for o in cell["outputs"])
                   and ((kind["figure"] and cell["images"] == 0) or (kind["sliders"] and cell["sliders"] == 0))]
        if not missing or time.monotonic() > deadline:
            return cells
        page.wait_for_timeout(500)


def run_notebook_problems(page, path, screenshot=None):
    """Open ``path``, Run All Cells from the menu, and report errors, cells that did not run, missing figures.

    Returns (problems, cells): cells is the final snapshot (see cellrules.cell_problems).
    """
    problems = open_notebook(page, path)
    if problems:
        return problems, []
    if not run_all_from_menu(page):
        return [f"{path}: Run > Run All Cells started no cell"], []
    if not wait_until_idle(page):
        problems.append(f"{path}: still running after {RUN_TIMEOUT_S} s")
    cells = wait_for_figures(page)
    if screenshot:
        screenshot(page, f"run-all-{path.replace('/', '_')}")
    return problems + [f"{path}: {p}" for p in cell_problems(cells)], cells


def cell_locator(page, index):
    return page.locator(f".jp-NotebookPanel .jp-Notebook .jp-Cell[data-windowed-list-index='{index}']")


def image_sources(page, index):
    return page.evaluate(
        "i => Array.from(document.querySelectorAll(`.jp-NotebookPanel .jp-Cell[data-windowed-list-index='${i}'] "
        ".jp-OutputArea img`)).map(img => img.src)", index)


def slider_problems(page, cells, screenshot=None, timeout_s=30):
    """In each cell that shows sliders, drag the first slider and expect its figure to be redrawn differently.

    ``cells`` is a snapshot taken after Run All. Returns problems (no slider cell at all is not one: the caller
    decides whether the notebook must have sliders).
    """
    problems = []
    for index, (cell, kind) in enumerate(zip(cells, classify(cells))):
        if not kind["sliders"] or cell["execution_count"] is None:
            continue
        name = f"cell {index} ({cell['id']})"
        box = cell_locator(page, index)
        handle = box.locator(".widget-slider .noUi-handle").first
        if handle.count() == 0:
            problems.append(f"{name}: no slider is shown")
            continue
        handle.scroll_into_view_if_needed()
        before = image_sources(page, index)
        if not before:
            problems.append(f"{name}: the sliders show no figure")
            continue
        readout = box.locator(".widget-slider .widget-readout").first
        value_before = readout.inner_text() if readout.count() else None
        area = handle.bounding_box()
        track = box.locator(".widget-slider .noUi-target").first.bounding_box()
        # Drag the handle a third of the track to the left: a different value, redrawn on release.
        page.mouse.move(area["x"] + area["width"] / 2, area["y"] + area["height"] / 2)
        page.mouse.down()
        page.mouse.move(area["x"] + area["width"] / 2 - track["width"] / 3, area["y"] + area["height"] / 2, steps=8)
        page.mouse.up()
        after = _wait_for_redraw(page, index, before, timeout_s)
        value_after = readout.inner_text() if readout.count() else None
        if screenshot:
            screenshot(page, f"slider-moved-cell-{index}")
        if value_after == value_before:
            problems.append(f"{name}: dragging the slider did not change its value ({value_before})")
        elif not after:
            problems.append(f"{name}: the figure disappeared after moving the slider")
        elif after == before:
            problems.append(f"{name}: moving the slider ({value_before} -> {value_after}) did not redraw the figure")
    return problems


def _wait_for_redraw(page, index, before, timeout_s):
    """The cell's image sources once they differ from ``before``, or once the kernel has handled the change
    (busy, then idle again) and the output had a moment to update; a frozen figure is thus reported quickly."""
    start = time.monotonic()
    seen_busy, idle_since = False, None
    after = before
    while time.monotonic() < start + timeout_s:
        after = image_sources(page, index)
        if after and after != before:
            return after
        state = page.evaluate(BUSY_JS)
        seen_busy = seen_busy or state["kernel"] == "busy"
        if not seen_busy and time.monotonic() > start + 10:  # a quick busy spell can fall between two readings
            return after
        if seen_busy and state["kernel"] == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 2:
                return after
        else:
            idle_since = None
        page.wait_for_timeout(200)
    return after


def _markdown_heading_texts(source):
    """Headings of a markdown cell as a learner reads them: without math, code marks or emphasis."""
    texts = []
    for line in source.splitlines():
        match = re.match(r"^\s{0,3}#{1,6}\s+(.*)$", line)
        if match:
            text = match.group(1).split("$")[0]  # MathJax renders formulas differently: compare the text before
            text = re.sub(r"[`*]", "", text)
            texts.append(" ".join(text.split()))
    return [t for t in texts if t]


def exercise_problems(page, path, notebook, screenshot=None):
    """A student notebook shows each exercise: its stub ("YOUR CODE HERE") and signature, and every heading.

    ``notebook``: the notebook file as read by nbformat (what is expected); the page is what is seen.
    """
    problems = open_notebook(page, path)
    if problems:
        return problems
    shown = page.evaluate("""() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell'))
        .map(cell => ({text: cell.innerText,
                       headings: Array.from(cell.querySelectorAll('h1, h2, h3, h4, h5, h6'))
                                      .map(h => h.innerText.replace(/¶/g, '').split(/\\s+/).join(' ').trim())}))""")
    if len(shown) != len(notebook.cells):
        return [f"{path}: the page shows {len(shown)} cells, the file has {len(notebook.cells)}"]
    stubs = 0
    for index, (cell, seen) in enumerate(zip(notebook.cells, shown)):
        name = f"{path} cell {index} ({cell.get('id')})"
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            stubs += 1
            if "YOUR CODE HERE" not in seen["text"]:
                problems.append(f"{name}: the exercise stub 'YOUR CODE HERE' is not shown")
            signature = next((line.strip() for line in cell.source.splitlines() if line.startswith("def ")), None)
            if signature and signature not in seen["text"]:
                problems.append(f"{name}: the exercise's signature {signature!r} is not shown")
        if cell.cell_type == "markdown":
            for heading in _markdown_heading_texts(cell.source):
                if not any(h.startswith(heading) for h in seen["headings"]):
                    problems.append(f"{name}: heading {heading!r} is not rendered (shown: {seen['headings']})")
    if stubs == 0:
        problems.append(f"{path}: no exercise (nbgrader solution cell) found")
    if screenshot:
        first = next((i for i, c in enumerate(notebook.cells)
                      if c.cell_type == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")), 0)
        # Show the instructions above the first exercise too.
        cell_locator(page, max(first - 1, 0)).scroll_into_view_if_needed()
        page.evaluate("i => document.querySelector(`.jp-NotebookPanel .jp-Cell[data-windowed-list-index='${i}']`)"
                      ".scrollIntoView({block: 'start'})", max(first - 1, 0))
        page.wait_for_timeout(500)
        screenshot(page, f"learner-view-{path.replace('/', '_')}")
    return problems


def validate_problems(page, path, screenshot=None):
    """Press the notebook toolbar's Validate button (nbgrader) and report anything but its success message."""
    problems = open_notebook(page, path)
    if problems:
        return problems
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    result = dialog.locator(".validation-success, .validation-failed, .validation-changed, "
                            ".validation-type-changed, pre")
    try:
        result.first.wait_for(timeout=VALIDATE_TIMEOUT_MS)
    except Exception as error:
        return [f"{path}: Validate showed no result: {str(error).splitlines()[0]}"]
    page.wait_for_timeout(300)
    text = dialog.first.inner_text()
    if screenshot:
        screenshot(page, f"validate-{path.replace('/', '_')}")
    success = dialog.locator(".validation-success").count() > 0 and SUCCESS_TEXT in text
    dismiss_dialogs(page)
    return [] if success else [f"{path}: Validate did not report success:\n{text.strip()[:1500]}"]


def open_from_nbgrader_menu(page, label):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{label}$")).click()


def formgrader_frame(page):
    close_all(page)
    open_from_nbgrader_menu(page, "Formgrader")
    page.wait_for_selector("iframe[src*='formgrader']", timeout=30_000)
    return page.frame_locator("iframe[src*='formgrader']")


def formgrader_assignments(frame, timeout_ms=60_000):
    """Names in the formgrader's Manage Assignments table, once it has loaded."""
    frame.locator("body").wait_for(timeout=timeout_ms)
    frame.locator("text=Loading, please wait...").wait_for(state="detached", timeout=timeout_ms)
    return [name.strip() for name in frame.locator("td.name").all_inner_texts()]


def formgrader_problems(page, expected, screenshot=None):
    """The formgrader (Nbgrader > Formgrader) lists each assignment in ``expected``."""
    frame = formgrader_frame(page)
    try:
        listed = formgrader_assignments(frame)
    except Exception as error:
        return [f"the formgrader did not load its assignments: {str(error).splitlines()[0]}"]
    if screenshot:
        screenshot(page, "formgrader")
    missing = [name for name in expected if name not in listed]
    problems = [f"the formgrader does not list {missing} (it lists {listed})"] if missing else []
    # nbgrader's own warnings on the page: no exchange (no Release button), no course id, ...
    for warning in frame.locator(".alert:visible").all_inner_texts():
        problems.append(f"the formgrader warns: {' '.join(warning.split())}")
    return problems


def release_and_list_problems(page, assignment, course_id, screenshot=None):
    """The instructor releases ``assignment`` in the formgrader; the learner's Assignment List then offers it."""
    frame = formgrader_frame(page)
    try:
        formgrader_assignments(frame)
    except Exception as error:
        return [f"the formgrader did not load its assignments: {str(error).splitlines()[0]}"]
    row = frame.locator("tr", has=frame.locator("td.name", has_text=re.compile(rf"^\s*{re.escape(assignment)}\s*$")))
    if row.count() == 0:
        return [f"the formgrader has no row for {assignment}, so it cannot be released"]
    button = row.first.locator(".release a")
    if button.count() == 0:
        return [f"the formgrader offers no release button for {assignment}"]
    button.first.click()
    modal = frame.locator(".modal-dialog")
    modal.first.wait_for(timeout=60_000)
    text = modal.first.inner_text()
    if screenshot:
        screenshot(page, f"formgrader-release-{assignment}")
    if "Successfully released" not in text:
        return [f"releasing {assignment} failed:\n{text.strip()[:1500]}"]

    close_all(page)
    open_from_nbgrader_menu(page, "Assignment List")
    released = page.locator("#released_assignments_list")
    try:
        released.wait_for(timeout=30_000)
        # Loaded: the loading note is hidden and an item, the "no assignments" note or an error is visible.
        page.wait_for_function("""() => {
            const visible = e => e && e.offsetParent !== null;
            const list = document.querySelector('#released_assignments_list');
            return !visible(document.querySelector('#released_assignments_list_loading')) &&
                   Array.from(list.querySelectorAll('.list_item, .list_placeholder, .list_error')).some(visible);
        }""", timeout=60_000)
    except Exception as error:
        return [f"the Assignment List did not load: {str(error).splitlines()[0]}"]
    page.wait_for_timeout(500)
    text = released.inner_text()
    if screenshot:
        screenshot(page, "assignment-list")
    problems = []
    if assignment not in text:
        problems.append(f"the Assignment List's released assignments do not offer {assignment}: {text.strip()!r}")
    elif course_id not in text:
        problems.append(f"the Assignment List shows {assignment} without its course {course_id!r}: {text.strip()!r}")
    return problems
