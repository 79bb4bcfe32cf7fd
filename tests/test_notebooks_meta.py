"""House rules for the notebooks, checked statically (running them is nbval's job).

Every notebook in notebooks/ is committed without outputs, has a kernelspec and a numbered name,
and its code cells are short and import their logic from the package instead of defining it.
"""
from __future__ import annotations

import json
import re

import pytest

from mnist_scratch import paths

MAX_CODE_LINES = 12
NOTEBOOKS = sorted(paths.notebooks_dir().glob("*.ipynb"))
DEFINITION = re.compile(r"^\s*(async\s+def|def|class)\s+\w+", re.MULTILINE)


def load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    expected = ["00_index", "01_math", "02_data", "03_training", "04_evaluation", "05_draw"]
    assert all(f"{stem}.ipynb" in names for stem in expected), names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_numbered_name(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_stripped(path):
    for i, cell in enumerate(code_cells(load(path))):
        assert cell.get("outputs") == [], f"{path.name}: code cell {i} has outputs"
        assert cell.get("execution_count") is None, f"{path.name}: code cell {i} has an execution count"
    # Saved widget state (the drawing pad's canvas and images) is an output too.
    assert "widgets" not in load(path).get("metadata", {}), f"{path.name}: saved widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_kernelspec(path):
    spec = load(path).get("metadata", {}).get("kernelspec", {})
    assert spec.get("name") == "python3", f"{path.name}: kernelspec {spec!r}"
    assert spec.get("language") == "python" and spec.get("display_name")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_short_and_without_definitions(path):
    for i, cell in enumerate(code_cells(load(path))):
        text = source(cell)
        assert not DEFINITION.search(text), f"{path.name}: code cell {i} defines a function or class"
        assert "lambda" not in text, f"{path.name}: code cell {i} defines a lambda"
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) <= MAX_CODE_LINES, f"{path.name}: code cell {i} has {len(lines)} lines"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_cwd_relative_paths(path):
    for i, cell in enumerate(code_cells(load(path))):
        text = source(cell)
        assert not re.search(r"""["']\.{1,2}/""", text), f"{path.name}: code cell {i} uses a relative path"


# ----------------------------------------------------------------------------- the notebooks' knobs
def test_notebook_settings_quick_and_full(monkeypatch):
    from mnist_scratch.notebook_settings import FULL, QUICK, notebook_settings

    monkeypatch.setenv("MNIST_SCRATCH_QUICK", "1")
    assert notebook_settings() is QUICK and notebook_settings().quick
    monkeypatch.setenv("MNIST_SCRATCH_QUICK", "0")
    assert notebook_settings() is FULL and not notebook_settings().quick
    assert notebook_settings(quick=True) is QUICK
    assert QUICK.gd_steps < FULL.gd_steps and QUICK.epochs < FULL.epochs
    assert FULL.n_train is None and QUICK.n_train is not None


@pytest.mark.parametrize("recipe", ["classic", "sgd", "momentum", "adam", "default"])
def test_notebook_settings_configs(recipe):
    from mnist_scratch.notebook_settings import QUICK
    from mnist_scratch.train import RECIPES

    config = QUICK.config(recipe)
    assert config.optimizer == RECIPES[recipe].optimizer and config.lr == RECIPES[recipe].lr
    if RECIPES[recipe].batch_size is None:
        assert config.steps == QUICK.gd_steps
    else:
        assert config.steps is None and config.epochs == QUICK.epochs
    resume = QUICK.resume_config()
    assert resume.steps == QUICK.resume_steps and resume.augment
    with pytest.raises(ValueError, match="unknown recipe"):
        QUICK.config("nesterov")


def test_notebook_checkpoints_live_under_the_data_root(monkeypatch, tmp_path):
    from mnist_scratch.notebook_settings import QUICK

    monkeypatch.setenv("MNIST_SCRATCH_HOME", str(tmp_path))
    path = QUICK.checkpoint("03_adam")
    assert path == tmp_path.resolve() / "checkpoints" / "notebook_03_adam.npz"
    for bad in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="plain file stem"):
            QUICK.checkpoint(bad)


def test_drawing_network_prefers_the_trained_checkpoint(tmp_path, monkeypatch):
    import numpy as np

    from mnist_scratch import Network, paths
    from mnist_scratch.notebook_settings import QUICK

    monkeypatch.setenv("MNIST_SCRATCH_HOME", str(tmp_path))
    first = QUICK.drawing_network()  # no checkpoint yet: trains the quick stand-in and keeps it
    assert QUICK.checkpoint("05_quick").exists() and not paths.default_checkpoint().exists()
    np.testing.assert_array_equal(QUICK.drawing_network().parameter_vector(), first.parameter_vector())  # loaded, not retrained
    trained = Network(seed=7)
    trained.save(paths.default_checkpoint())
    np.testing.assert_array_equal(QUICK.drawing_network().parameter_vector(), trained.parameter_vector())
