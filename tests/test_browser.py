"""The drawing pad in a real browser: JupyterLab 4 and Notebook 7 + headless Chromium (playwright).

Each test starts a Jupyter server on 127.0.0.1 (OS-chosen port, random token, every Jupyter folder
in a temporary directory) serving a temporary copy of ``05_draw.ipynb``, with a data root that
holds a small trained checkpoint, runs all cells and uses the pad with real mouse events:

* JupyterLab at 1024 x 768 with the file browser open, dark theme: the pad is on screen after Run
  All, the canvas is fully visible (nothing clipped, no scrollbars), the theme colours apply, a 7
  drawn with an excursion outside the canvas (button held) is saved through Wrong -> 7 and lands in
  SQLite as two strokes, and a Retrain runs in the background while a new digit is drawn and
  predicted.
* Notebook 7, wide window, light theme: one row layout, drawing, grid mode and the hidden units.

On failure a screenshot is written next to the test's tmp_path and named in the message.

Screenshots for the README and notebook 05 come from the same code::

    python tests/test_browser.py --screenshots docs/images
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import NO_MNIST
from mnist_scratch import paths
from mnist_scratch.checkpoint import load_network, save_network
from mnist_scratch.store import FeedbackStore

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK = "05_draw.ipynb"
TIMEOUT_MS = 90_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
APPS = {  # front end -> (module to run, URL of the notebook, option exposing window.jupyterapp)
    "lab": ("jupyterlab", "/lab/tree/{}", "--LabApp.expose_app_in_browser=True"),
    "notebook": ("notebook", "/notebooks/{}", "--JupyterNotebookApp.expose_app_in_browser=True"),
}
# Strokes in canvas pixels (280 x 280).
SEVEN = [(75, 60), (205, 60), (120, 235)]
ONE = [(150, 50), (138, 235)]
KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return Boolean(k) && k.status === 'idle';
}"""
NEXT_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
# Elements inside the pad that scroll or clip: [description, how much is hidden] for each.
CLIPPED = """(root) => {
    const out = [];
    for (const el of [root, ...root.querySelectorAll('*')]) {
        const s = getComputedStyle(el);
        const dx = el.scrollWidth - el.clientWidth, dy = el.scrollHeight - el.clientHeight;
        const scrolls = (v) => v === 'auto' || v === 'scroll' || v === 'hidden';
        if ((scrolls(s.overflowX) && dx > 1) || (scrolls(s.overflowY) && dy > 1))
            out.push([el.className || el.tagName, dx, dy]);
    }
    return out;
}"""
# Whether the element's four corners (2 px inside) are on screen and not covered by anything.
CORNERS_VISIBLE = """(el) => {
    const r = el.getBoundingClientRect();
    return [[r.left + 2, r.top + 2], [r.right - 2, r.top + 2], [r.left + 2, r.bottom - 2],
            [r.right - 2, r.bottom - 2]].map(([x, y]) => {
        const hit = document.elementFromPoint(x, y);
        return hit === el || el.contains(hit);
    });
}"""


def _skip_reason(mnist_dir: Path | None) -> str | None:
    """Why the browser test cannot run here, as advice to the user (None: it can)."""
    if not CHROMIUM.exists():
        return ("the browser test needs Chromium at /usr/bin/chromium: install it with "
                "`sudo apt-get install chromium` (Debian/Ubuntu), or run `bash run.sh test`, which does")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the browser test needs playwright: pip install -e '.[test]' (do not run `playwright install`)"
    try:
        import notebook  # noqa: F401
    except ImportError:
        return "the browser test needs Jupyter Notebook 7 too: pip install -e '.[test]'"
    if mnist_dir is None:
        return "the browser test retrains on MNIST, so it " + NO_MNIST
    return None


def _mnist_dir_or_none() -> Path | None:
    folder = os.environ.get("MNIST_SCRATCH_DATA")
    return Path(folder) if folder and Path(folder, "t10k-images-idx3-ubyte.gz").is_file() else None


# ---------------------------------------------------------------- server and browser
@contextlib.contextmanager
def jupyter_server(app: str, workdir: Path, home: Path, mnist_dir: Path, settings: dict | None = None):
    """Run a Jupyter front end (``"lab"`` or ``"notebook"``) on a copy of notebook 05.

    ``home`` is the package's data root (it must hold the checkpoint the pad loads). ``settings``
    maps a settings file (e.g. ``"@jupyterlab/apputils-extension/themes"``) to its JSON.
    Yields ``(notebook url with token, server log path)``; the server is stopped afterwards.
    """
    module, url, expose = APPS[app]
    root = workdir / "notebooks"
    root.mkdir(parents=True)
    shutil.copy(paths.notebooks_dir() / NOTEBOOK, root / NOTEBOOK)  # autosave must not touch the repo
    dirs = {name: workdir / "jupyter" / name.lower() for name in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}
    for folder in dirs.values():
        folder.mkdir(parents=True)
    labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir()
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    for name, value in (settings or {}).items():
        target = dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    env = {**os.environ, **{k: str(v) for k, v in dirs.items()},
           "MNIST_SCRATCH_HOME": str(home), "MNIST_SCRATCH_QUICK": "1", "MNIST_SCRATCH_DATA": str(mnist_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(paths.project_root()), os.environ.get("PYTHONPATH")]))}
    token = secrets.token_hex(16)
    log = workdir / f"{app}.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             "--ServerApp.port=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", expose],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=root)
    try:
        port = _wait_for_port(proc, dirs["JUPYTER_RUNTIME_DIR"], log)
        yield f"http://127.0.0.1:{port}{url.format(NOTEBOOK)}?token={token}", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_port(proc: subprocess.Popen, runtime: Path, log: Path) -> int:
    """The port the server chose, read from ``jpserver-<pid>.json`` once it is complete."""
    info = runtime / f"jpserver-{proc.pid}.json"
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Jupyter server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return int(json.loads(info.read_text())["port"])
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.1)  # polling a file the server is writing, not waiting for a result
    raise RuntimeError(f"the Jupyter server did not start within {TIMEOUT_MS / 1000} s:\n{log.read_text()[-3000:]}")


def _local_only(route) -> None:
    """Let requests to the local server through; abort the rest (fonts, CDNs) at once."""
    if urlparse(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


@contextlib.contextmanager
def browser_page(playwright, width: int, height: int):
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(TIMEOUT_MS)
        page.route("**/*", _local_only)
        yield page
    finally:
        browser.close()


def open_and_run_all(page, url: str):
    """Open the notebook, run all cells, wait for the pad; returns the pad's locator."""
    page.goto(url)
    page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    pad = page.locator(".digitpad")
    sync_api().expect(pad.locator(".dp-digit")).to_have_text("Draw a digit", timeout=TIMEOUT_MS)
    page.wait_for_function(KERNEL_IDLE, timeout=TIMEOUT_MS)  # every cell has run
    return pad


def draw(page, canvas, points, size: int = 280, outside_after: int | None = None) -> None:
    """Press, move through ``points`` (canvas pixels) with real mouse events, release.

    ``outside_after=i``: after point ``i`` the pointer leaves the canvas to the right (button held)
    and comes back before going on."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    to_view = [(box["x"] + x * box["width"] / size, box["y"] + y * box["height"] / size) for x, y in points]
    page.mouse.move(*to_view[0])
    page.mouse.down()
    for i, xy in enumerate(to_view[1:], start=1):
        page.mouse.move(*xy, steps=15)
        if i == outside_after:
            # Chromium delivers mouse moves once per frame, merged: let a frame pass outside, or
            # out-and-back can merge into one move that never leaves the canvas.
            page.mouse.move(box["x"] + box["width"] + 30, xy[1], steps=5)
            page.evaluate(NEXT_FRAMES)
            page.mouse.move(*xy, steps=5)
            page.evaluate(NEXT_FRAMES)
    page.mouse.up()


def sync_api():
    from playwright import sync_api as api
    return api


def _home_with_checkpoint(folder: Path, net) -> Path:
    home = folder / "home"
    save_network(net, home / "checkpoints" / "mnist_mlp.npz")
    return home


DARK = {"@jupyterlab/apputils-extension/themes": {"theme": "JupyterLab Dark"}}


def _luminance(css_colour: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


# ---------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def browser_setup():
    reason = _skip_reason(_mnist_dir_or_none())
    if reason:
        pytest.skip(reason)
    return _mnist_dir_or_none()


def _fail_with_screenshot(page, tmp_path: Path, log: Path, exc: Exception):
    failed = tmp_path / "pad_failure.png"
    target = page.locator(".digitpad")
    (target.first if target.count() else page).screenshot(path=failed)
    raise AssertionError(f"{type(exc).__name__}: {exc}\nscreenshot: {failed}\nserver log: {log}") from exc


def test_jupyterlab_1024_dark_layout_drawing_and_background_retrain(browser_setup, trained_net, tmp_path):
    expect = sync_api().expect
    home = _home_with_checkpoint(tmp_path, trained_net)
    with jupyter_server("lab", tmp_path, home, browser_setup, settings=DARK) as (url, log), \
            sync_api().sync_playwright() as p, browser_page(p, 1024, 768) as page:
        try:
            pad = open_and_run_all(page, url)
            canvas = pad.locator(".digitpad-canvas")
            # After Run All the pad is on screen (no scrolling by the test).
            box = canvas.bounding_box()
            assert 0 <= box["y"] and box["y"] + 100 <= 768, f"canvas off screen after Run All: {box}"
            assert page.evaluate("() => document.querySelector('#filebrowser').offsetWidth") > 150, \
                "the file browser should be open for the layout check"
            # Nothing clipped at 1024 px: full size canvas, all four corners visible, no scrollbars.
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            assert box["width"] >= 279 and box["height"] >= 279, f"canvas shrunk: {box}"
            assert canvas.evaluate(CORNERS_VISIBLE) == [True] * 4, "canvas clipped or covered"
            assert pad.evaluate(CLIPPED) == [], "elements with scrollbars or clipped content"
            bars = pad.locator(".digitpad-bars").bounding_box()
            assert bars["x"] + bars["width"] <= page.evaluate("() => window.innerWidth"), bars
            # Dark theme: bar tracks and text come from JupyterLab's theme variables.
            assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false"
            track = pad.locator(".dp-track").first.evaluate("el => getComputedStyle(el).backgroundColor")
            text = pad.locator(".dp-digit").evaluate("el => getComputedStyle(el).color")
            assert _luminance(track) < 0.3 and _luminance(text) > 0.5, (track, text)  # faint tracks, light text
            # Before the first stroke: nothing to save.
            assert pad.locator(".digitpad-correct").is_disabled() and pad.locator(".digitpad-wrong").is_disabled()

            # A 7, leaving the canvas with the button held after the top bar and coming back.
            draw(page, canvas, SEVEN, outside_after=1)
            expect(pad.locator(".dp-digit")).to_have_text(re.compile(r"^(\d|not sure)$"))
            expect(pad.locator(".digitpad-wrong")).to_be_enabled()
            pad.locator(".digitpad-wrong").click()
            pad.locator(".digitpad-label-7").click()
            expect(pad.locator(".digitpad-status")).to_have_text(re.compile(r"Saved drawing #\d+ as 7"))
            saved_message = pad.locator(".digitpad-status").inner_text()
            expect(pad.locator(".dp-digit")).to_have_text("Draw a digit")
            expect(pad.locator(".digitpad-correct")).to_be_disabled()
            draw(page, canvas, ONE)
            expect(pad.locator(".dp-digit")).to_have_text(re.compile(r"^(\d|not sure)$"))
            pad.locator(".digitpad-wrong").click()
            pad.locator(".digitpad-label-1").click()
            expect(pad.locator(".digitpad-accuracy")).to_contain_text("2 saved drawings")

            # Retrain in the background: the progress bar shows, Retrain is disabled, and a digit
            # drawn meanwhile is predicted while the bar is still there.
            pad.locator(".digitpad-retrain").click()
            progress = pad.locator(".digitpad-progress")
            expect(progress).to_be_visible()
            expect(pad.locator(".digitpad-retrain")).to_be_disabled()
            draw(page, canvas, ONE)
            expect(pad.locator(".dp-digit")).to_have_text(re.compile(r"^(\d|not sure)$"))
            assert progress.is_visible(), "the retrain ended before the drawing was predicted: not a test of it"
            expect(progress).to_be_hidden(timeout=TIMEOUT_MS)
            expect(pad.locator(".digitpad-report")).to_contain_text("MNIST test set")
            expect(pad.locator(".digitpad-retrain")).to_be_enabled()
            # The 1 on the canvas is the one saved before: the retrained network's memory votes for it.
            expect(pad.locator(".dp-memory")).to_contain_text("your saved drawings")
            assert "Error" not in pad.inner_text(), pad.inner_text()
        except Exception as exc:  # noqa: BLE001
            _fail_with_screenshot(page, tmp_path, log, exc)

    records = FeedbackStore(home / "feedback" / "drawings.sqlite3").records()
    assert [r.label for r in records] == [7, 1], records
    rec = records[0]
    assert (rec.source, rec.canvas_size) == ("drawing_pad", (280, 280))
    # The status named what the network said when the drawing was saved, as the store recorded it.
    said = "got it right" if rec.predicted == 7 else f"the network said {rec.predicted}"
    assert said in saved_message and 0 < rec.confidence <= 1, (saved_message, rec)
    assert len(rec.strokes) == 2, "leaving and re-entering with the button held continues the drawing"
    first, second = rec.strokes
    # Pointer positions map back to canvas pixels (JupyterLab's fractional offsets: ~0.5 px).
    assert abs(first[0][0] - SEVEN[0][0]) <= 1.5 and abs(first[0][1] - SEVEN[0][1]) <= 1.5, first[0]
    assert abs(second[-1][0] - SEVEN[-1][0]) <= 1.5 and abs(second[-1][1] - SEVEN[-1][1]) <= 1.5, second[-1]
    assert max(x for x, _ in first) >= 270 and min(x for x, _ in second) <= 215  # left at the edge, came back


def test_notebook7_wide_layout_grid_mode_and_hidden_units(browser_setup, trained_net, tmp_path):
    expect = sync_api().expect
    home = _home_with_checkpoint(tmp_path, trained_net)
    with jupyter_server("notebook", tmp_path, home, browser_setup) as (url, log), \
            sync_api().sync_playwright() as p, browser_page(p, 1400, 900) as page:
        try:
            pad = open_and_run_all(page, url)
            canvas = pad.locator(".digitpad-canvas")
            canvas.scroll_into_view_if_needed()
            assert pad.evaluate(CLIPPED) == []
            c, bars, view = (pad.locator(s).bounding_box() for s in (".digitpad-canvas", ".digitpad-bars",
                                                                      ".digitpad-view"))
            assert bars["x"] > c["x"] + c["width"] and view["x"] > bars["x"] + bars["width"], "one row when wide"
            assert page.evaluate("() => document.body.dataset.jpThemeLight") == "true"
            draw(page, canvas, SEVEN)
            expect(pad.locator(".dp-digit")).to_have_text(re.compile(r"^(\d|not sure)$"))
            pad.get_by_text("Hidden units").click()
            expect(pad.locator(".digitpad-hidden")).to_be_visible()
            expect(pad.locator(".digitpad-hidden")).to_contain_text("push on the")
            # Grid mode: paint a vertical bar of cells, the network answers.
            pad.get_by_text("28 × 28 grid").click()
            expect(pad.locator(".dp-digit")).to_have_text("Draw a digit")
            draw(page, canvas, [(140, 45), (138, 235)])
            expect(pad.locator(".dp-digit")).to_have_text(re.compile(r"^(\d|not sure)$"))
            pad.locator(".digitpad-undo-stroke").click()
            expect(pad.locator(".dp-digit")).to_have_text("Draw a digit")
            assert "Error" not in pad.inner_text(), pad.inner_text()
        except Exception as exc:  # noqa: BLE001
            _fail_with_screenshot(page, tmp_path, log, exc)


# ---------------------------------------------------------------- screenshots for the README
FOUR = [[(95, 60), (85, 170), (205, 170)], [(175, 70), (172, 240)]]


def _small_png(path: Path, colours: int = 96) -> None:
    """Re-save a screenshot as a palette PNG (a few tens of KB instead of a few hundred)."""
    from PIL import Image

    Image.open(path).convert("RGB").quantize(colors=colours).save(path, optimize=True)


def take_screenshots(out: Path, net) -> list[Path]:
    """Screenshots of the pad from real JupyterLab + Chromium: light and dark, wide and 1024 px,
    grid mode, the hidden units and the saliency map. Returns the PNG paths."""
    mnist_dir = _mnist_dir_or_none()
    reason = _skip_reason(mnist_dir)
    if reason:
        raise SystemExit(f"cannot take screenshots: {reason}")
    out.mkdir(parents=True, exist_ok=True)
    shots = []

    def shot(target, name: str) -> None:
        path = out / f"{name}.png"
        target.screenshot(path=path)
        _small_png(path)
        shots.append(path)

    with tempfile.TemporaryDirectory(prefix="pad_screenshots_") as tmp:
        tmp = Path(tmp)
        home = _home_with_checkpoint(tmp, net)
        with jupyter_server("lab", tmp, home, mnist_dir) as (url, _log), \
                sync_api().sync_playwright() as p, browser_page(p, 1400, 950) as page:
            expect = sync_api().expect
            pad = open_and_run_all(page, url)
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
            canvas = pad.locator(".digitpad-canvas")
            draw(page, canvas, SEVEN)
            expect(pad.locator(".dp-digit")).to_have_text(re.compile(r"^(\d|not sure)$"))
            shot(pad, "pad_light_wide")
            pad.get_by_text("Saliency").click()
            expect(pad.locator(".digitpad-view")).to_be_visible()
            page.wait_for_timeout(500)  # the image is replaced in place: give it a frame
            shot(pad, "pad_saliency")
            pad.get_by_text("Hidden units").click()
            expect(pad.locator(".digitpad-hidden")).to_be_visible()
            page.wait_for_timeout(500)
            shot(pad, "pad_hidden_units")
            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                          "{theme: 'JupyterLab Dark'})")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
            pad.get_by_text("Network input").click()
            page.wait_for_timeout(800)
            shot(pad, "pad_dark_wide")
            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                          "{theme: 'JupyterLab Light'})")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
            pad.get_by_text("28 × 28 grid").click()
            expect(pad.locator(".dp-digit")).to_have_text("Draw a digit")
            for stroke in FOUR:
                draw(page, canvas, stroke)
            expect(pad.locator(".dp-digit")).to_have_text(re.compile(r"^(\d|not sure)$"))
            page.wait_for_timeout(500)
            shot(pad, "pad_grid")
            page.set_viewport_size({"width": 1024, "height": 768})
            page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
            pad.get_by_text("Pen").click()
            draw(page, canvas, SEVEN)
            expect(pad.locator(".dp-digit")).to_have_text(re.compile(r"^(\d|not sure)$"))
            canvas.evaluate("el => el.closest('.digitpad').scrollIntoView({block: 'start'})")
            page.wait_for_timeout(800)
            shot(page, "pad_1024")
            # The retrain report: two corrections, Retrain, then one new drawing saved afterwards.
            page.set_viewport_size({"width": 1400, "height": 950})
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
            for strokes, label in [([], 7), ([ONE], 1)]:  # the 7 is still on the canvas
                for stroke in strokes:
                    draw(page, canvas, stroke)
                expect(pad.locator(".digitpad-wrong")).to_be_enabled()
                pad.locator(".digitpad-wrong").click()
                pad.locator(f".digitpad-label-{label}").click()
                expect(pad.locator(".digitpad-status")).to_have_text(re.compile(rf"Saved drawing #\d+ as {label}"))
            pad.locator(".digitpad-retrain").click()
            expect(pad.locator(".digitpad-retrain")).to_be_disabled()
            expect(pad.locator(".digitpad-retrain")).to_be_enabled(timeout=TIMEOUT_MS)
            expect(pad.locator(".digitpad-report")).to_contain_text("MNIST test set")
            draw(page, canvas, SEVEN)
            expect(pad.locator(".digitpad-correct")).to_be_enabled()
            pad.locator(".digitpad-correct").click()
            expect(pad.locator(".digitpad-report")).to_contain_text("since: 1 of 1")
            pad.locator(".digitpad-report summary").click()
            draw(page, canvas, SEVEN)  # the 7 saved before the retrain, again: the memory's line shows
            expect(pad.locator(".dp-memory")).to_contain_text("your saved drawings")
            page.wait_for_timeout(300)
            shot(pad, "pad_retrain_report")
    return shots


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screenshots", type=Path, required=True, metavar="DIR",
                        help="write the pad's screenshots (PNG) into this folder")
    parser.add_argument("--checkpoint", type=Path, default=paths.default_checkpoint(),
                        help="network to show (default: the trained default checkpoint)")
    args = parser.parse_args(argv)
    if not args.checkpoint.is_file():
        raise SystemExit(f"no network at {args.checkpoint}: train one first (python -m mnist_scratch train)")
    for path in take_screenshots(args.screenshots, load_network(args.checkpoint)):
        print(f"{path}  {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
