"""The drawing notebook in a real browser: JupyterLab + headless Chromium, driven by playwright.

Starts JupyterLab on 127.0.0.1 (OS-chosen port, random token, every Jupyter folder in a temporary
directory) serving a temporary copy of ``05_draw.ipynb``, with a data root that holds a small
trained checkpoint. Runs all cells, draws a 7 with real mouse moves, waits for the prediction,
clicks Wrong, picks 7 and checks the feedback store holds that record. On failure a screenshot
of the pad is written next to the test's tmp_path and named in the assertion message.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from mnist_scratch import paths
from mnist_scratch.checkpoint import save_network
from mnist_scratch.store import FeedbackStore

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "05_draw.ipynb"
TIMEOUT_MS = 90_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
# A 7 in canvas pixels: the top bar, then the diagonal.
SEVEN = [(75, 60), (205, 60), (120, 235)]
KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return Boolean(k) && k.status === 'idle';
}"""

if not CHROMIUM.exists():
    pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def _wait_for_server(proc: subprocess.Popen, runtime: Path, log: Path) -> int:
    """The port JupyterLab chose, read from ``jpserver-<pid>.json`` once it is complete."""
    info = runtime / f"jpserver-{proc.pid}.json"
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return int(json.loads(info.read_text())["port"])
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.1)  # polling a file the server is writing, not waiting for a result
    raise RuntimeError(f"JupyterLab did not start within {TIMEOUT_MS / 1000} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def lab(tmp_path, trained_net, mnist_dir):
    """A running JupyterLab: yields (base url, token, data root, server log)."""
    home = tmp_path / "home"
    save_network(trained_net, home / "checkpoints" / "mnist_mlp.npz")
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(paths.notebooks_dir() / NOTEBOOK, root / NOTEBOOK)  # autosave must not touch the repo
    jupyter = tmp_path / "jupyter"
    dirs = {name: jupyter / name.lower() for name in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}
    for folder in dirs.values():
        folder.mkdir(parents=True)
    labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir()
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ, **{k: str(v) for k, v in dirs.items()},
           "MNIST_SCRATCH_HOME": str(home), "MNIST_SCRATCH_QUICK": "1", "MNIST_SCRATCH_DATA": str(mnist_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.project_root()), os.environ.get("PYTHONPATH")]))}
    token = secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=root)
    try:
        port = _wait_for_server(proc, dirs["JUPYTER_RUNTIME_DIR"], log)
        yield f"http://127.0.0.1:{port}", token, home, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _local_only(route) -> None:
    """Let requests to the local server through; abort the rest (fonts, CDNs) at once."""
    if urlparse(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def _draw(page, canvas, points, size: int = 280) -> list[tuple[float, float]]:
    """Press, move through ``points`` (canvas pixels) with real mouse events, release.

    Returns the viewport positions used, for the error message."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    to_view = [(box["x"] + x * box["width"] / size, box["y"] + y * box["height"] / size) for x, y in points]
    page.mouse.move(*to_view[0])
    page.mouse.down()
    for xy in to_view[1:]:
        page.mouse.move(*xy, steps=15)
    page.mouse.up()
    return to_view


def test_draw_a_digit_and_save_it_in_jupyterlab(lab, tmp_path):
    expect = sync_api.expect
    base, token, home, log = lab
    screenshot = tmp_path / "pad.png"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.route("**/*", _local_only)
            try:
                page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
                page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                pad = page.locator(".digitpad")
                prediction = pad.locator(".digitpad-prediction")
                status = pad.locator(".digitpad-status")
                expect(prediction).to_have_text("Draw a digit", timeout=TIMEOUT_MS)

                _draw(page, pad.locator(".digitpad-canvas"), SEVEN)
                expect(prediction).to_have_text(re.compile(r"Prediction: \d \(\d+\.\d %\)"), timeout=TIMEOUT_MS)
                predicted = int(re.search(r"\d", prediction.inner_text()).group())
                pad.screenshot(path=screenshot)  # kept for a look at the pad after drawing

                pad.locator(".digitpad-wrong").click()
                pad.locator(".digitpad-label-7").click()
                expect(status).to_have_text(re.compile(r"Saved drawing #\d+ as 7"), timeout=TIMEOUT_MS)
                expect(prediction).to_have_text("Draw a digit", timeout=TIMEOUT_MS)  # cleared
                assert "Error" not in pad.inner_text(), pad.inner_text()
            except Exception as exc:
                failed = tmp_path / "pad_failure.png"
                target = page.locator(".digitpad")
                (target if target.count() else page).screenshot(path=failed)
                raise AssertionError(f"{type(exc).__name__}: {exc}\nscreenshot: {failed}\n"
                                     f"server log: {log}") from exc
        finally:
            browser.close()

    records = FeedbackStore(home / "feedback" / "drawings.sqlite3").records()
    assert len(records) == 1, f"expected one saved drawing, found {records} (screenshot: {screenshot})"
    rec = records[0]
    assert (rec.label, rec.source, rec.predicted) == (7, "drawing_pad", predicted)
    assert rec.canvas_size == (280, 280) and rec.image.max() == 255
    (stroke,) = rec.strokes
    assert len(stroke) >= 20  # 30 mouse moves, minus any that landed on the same pixel
    # Pointer positions map back to canvas pixels (JupyterLab's fractional offsets: ~0.5 px).
    for (x, y), (ex, ey) in [(stroke[0], SEVEN[0]), (stroke[-1], SEVEN[-1])]:
        assert abs(x - ex) <= 1.5 and abs(y - ey) <= 1.5, (stroke[0], stroke[-1])
