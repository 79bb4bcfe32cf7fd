"""House rules for the notebooks, checked statically (running them is nbval's job).

Every notebook in notebooks/ is committed without outputs, has a kernelspec and a numbered name,
and its code cells are short and import their logic from the package instead of defining it (the
only definitions are the learner's own functions in the build-it-yourself notebook). Each lesson
opens with what the learner will be able to do and closes with a summary and "try this" prompts;
where a notebook explains a computation, it shows the package's real source.
"""
from __future__ import annotations

import json
import re

import pytest

from mnist_scratch import paths
from mnist_scratch.checkpoint import save_network

MAX_CODE_LINES = 12
NOTEBOOKS = sorted(paths.notebooks_dir().glob("*.ipynb"))
DEFINITION = re.compile(r"^\s*(async\s+def|def|class)\s+(\w+)", re.MULTILINE)
BUILD_IT_YOURSELF = "06_build_it_yourself.ipynb"
LEARNER_FUNCTIONS = ["relu", "softmax", "cross_entropy", "forward", "backward", "sgd_step", "train"]
LESSONS = [p for p in NOTEBOOKS if p.name != "00_index.ipynb"]  # the table of contents is no lesson
GOALS = re.compile(r"\*\*After this notebook you can\*\*|By the end of this notebook you will be able to:")
ITEM = re.compile(r"^(\* |\d+\. )", re.MULTILINE)  # a bullet or a numbered item


def load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def markdown_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "markdown"]


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    expected = ["00_index", "01_math", "02_data", "03_training", "04_evaluation", "05_draw",
                "06_build_it_yourself", "07_experiments", "08_appendix_exact_resume"]
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
    defined = []
    for i, cell in enumerate(code_cells(load(path))):
        text = source(cell)
        names = [m.group(2) for m in DEFINITION.finditer(text)]
        if path.name == BUILD_IT_YOURSELF:
            assert len(names) <= 1 and "class " not in text, f"{path.name}: code cell {i} defines {names}"
            defined += names
        else:
            assert not names, f"{path.name}: code cell {i} defines {names}"
        assert "lambda" not in text, f"{path.name}: code cell {i} defines a lambda"
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) <= MAX_CODE_LINES, f"{path.name}: code cell {i} has {len(lines)} lines"
    if path.name == BUILD_IT_YOURSELF:  # only the learner's own functions, each once, in order
        assert defined == LEARNER_FUNCTIONS


# ----------------------------------------------------------------------------- the course's structure
@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_opens_with_goals_and_closes_with_summary_and_try_this(path):
    cells = load(path)["cells"]
    first, last = source(cells[0]), source(cells[-1])
    assert cells[0]["cell_type"] == "markdown" and re.match(rf"# {path.name[:2]} · \S", first), first[:80]
    goals = GOALS.split(first, maxsplit=1)
    assert len(goals) == 2, f"{path.name}: the first cell does not say what the learner will be able to do"
    assert len(ITEM.findall(goals[1])) >= 2
    assert cells[-1]["cell_type"] == "markdown" and "## Summary" in last, f"{path.name}: no closing summary"
    try_this = last.split("**Try this**", 1)
    assert len(try_this) == 2, f"{path.name}: no 'try this' prompts at the end"
    prompts = ITEM.findall(try_this[1].split("**Next", 1)[0].split("**Back", 1)[0])
    assert 2 <= len(prompts) <= 3, f"{path.name}: {len(prompts)} 'try this' prompts"


def test_index_lists_every_notebook():
    index = source(load(paths.notebooks_dir() / "00_index.ipynb")["cells"][0])
    for path in NOTEBOOKS:
        if path.name != "00_index.ipynb":
            assert f"]({path.name})" in index, f"00_index does not link {path.name}"


SHOWN = {  # notebook -> the package functions whose real source it shows beside the math
    "01_math.ipynb": ["network.Network.activations", "network.relu", "network.relu_grad", "network.softmax",
                      "network.cross_entropy", "network.cross_entropy_grad", "network.Network.backward",
                      "network.Network.__init__", "course.numerical_gradients"],
    "03_training.ipynb": ["optimizers.SGD.step", "optimizers.Momentum.step", "optimizers.Adam.step"],
    "04_evaluation.ipynb": ["evaluate.precision_recall", "evaluate.confusion_matrix"],
    "07_experiments.ipynb": ["playground.play"],
}


@pytest.mark.parametrize("name", SHOWN)
def test_notebooks_show_the_real_source(name):
    import importlib

    text = "\n".join(source(c) for c in code_cells(load(paths.notebooks_dir() / name)))
    shown = re.findall(r"show_source\(([\w.]+)\)", text)
    for target in SHOWN[name]:
        assert target in shown, f"{name} does not show the source of {target}"
        module, *attrs = target.split(".")
        obj = importlib.import_module(f"mnist_scratch.{module}")
        for attr in attrs:
            obj = getattr(obj, attr)  # the shown object exists in the package
        assert callable(obj)


def test_build_it_yourself_exercises_have_skeleton_checker_and_solution():
    from mnist_scratch import exercises

    cells = [source(c) for c in code_cells(load(paths.notebooks_dir() / BUILD_IT_YOURSELF))]
    for name in LEARNER_FUNCTIONS:
        at = next(i for i, text in enumerate(cells) if text.startswith(f"def {name}("))
        assert "raise NotImplementedError" in cells[at], f"the {name} skeleton is not a skeleton"
        following = "\n".join(cells[at + 1:at + 3])
        if name in exercises.CHECKS:
            assert f"exercises.check_{name}({name})" in following
        assert f'exercises.solution("{name}")' in following
    assert any("exercises.run_training(train," in text for text in cells)


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
    save_network(trained, paths.default_checkpoint())
    np.testing.assert_array_equal(QUICK.drawing_network().parameter_vector(), trained.parameter_vector())
