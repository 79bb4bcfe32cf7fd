"""The command line, run as a user runs it: a subprocess, exit codes, one-line errors."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from mnist_scratch import Network, paths
from mnist_scratch.checkpoint import save_network
from mnist_scratch.store import FeedbackStore


def run(*args, env_extra=None, home=None, cwd=None):
    """``python -m mnist_scratch ARGS`` in a fresh process, from ``cwd`` (default: a neutral folder)."""
    env = dict(os.environ)
    if home is not None:
        env["MNIST_SCRATCH_HOME"] = str(home)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "mnist_scratch", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd or tempfile.gettempdir(), timeout=600)


@pytest.mark.parametrize("command", ["train", "evaluate", "feedback", "retrain"])
def test_help(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "usage: python -m mnist_scratch" in result.stdout


@pytest.mark.parametrize("where", ["parent", "inside"])
def test_the_installed_package_wins_wherever_the_command_runs(tmp_path, where):
    """A user's clone is a folder named mnist_scratch (no __init__.py at its top): run from the
    folder that holds it, ``python -m mnist_scratch`` must not import the clone as a namespace package."""
    clone = tmp_path / "mnist_scratch"
    clone.symlink_to(paths.project_root(), target_is_directory=True)
    result = run("--help", cwd=tmp_path if where == "parent" else clone)
    assert result.returncode == 0, result.stderr
    assert "usage: python -m mnist_scratch" in result.stdout


def test_train_evaluate_resume(tmp_path, mnist_dir):
    ckpt = tmp_path / "run.npz"
    result = run("train", "--steps", "40", "--checkpoint", ckpt, "--quiet", "--data-dir", mnist_dir, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "55000 train, 5000 validation, 10000 test" in result.stdout
    assert "test accuracy:" in result.stdout and ckpt.exists()
    result = run("train", "--steps", "60", "--checkpoint", ckpt, "--resume", "--quiet", "--data-dir", mnist_dir,
                 home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "trained 60 steps" in result.stdout
    figures = tmp_path / "figs"
    result = run("evaluate", "--checkpoint", ckpt, "--data-dir", mnist_dir, "--figures", figures, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout.lower() and len(result.stdout.splitlines()) >= 12
    assert len(list(figures.glob("*.png"))) >= 4


def test_default_checkpoint_goes_under_the_data_root(tmp_path, mnist_dir):
    result = run("train", "--recipe", "classic", "--steps", "3", "--quiet", home=tmp_path,
                 env_extra={"MNIST_SCRATCH_DATA": str(mnist_dir)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "checkpoints" / "mnist_mlp.npz").exists()
    assert "batch full" in result.stdout


@pytest.mark.parametrize("args, message", [
    (("evaluate", "--checkpoint", "{tmp}/missing.npz"), "no checkpoint at"),
    (("train", "--resume", "--checkpoint", "{tmp}/missing.npz"), "--resume: no checkpoint"),
    (("train", "--data-dir", "{tmp}/empty", "--steps", "1"), "lacks the MNIST files"),
    (("evaluate", "--checkpoint", "{tmp}/junk.npz"), "is not a checkpoint"),
    (("train", "--steps", "1", "--lr", "-3", "--quiet"), "argument --lr: must be a positive number"),
    (("train", "--epochs", "0"), "argument --epochs: must be a positive number, got 0"),
    (("train", "--epochs", "-1"), "argument --epochs: must be a positive number"),
    (("train", "--epoch", "3"), "unrecognized arguments: --epoch 3"),  # no abbreviations
    (("retrain", "--epochs", "0"), "argument --epochs: must be a positive number"),
    (("train", "--checkpoint", "{tmp}/junk.npz/net.npz", "--steps", "1"), "cannot write a checkpoint"),
    (("feedback", "import", "{tmp}/missing.csv"), "no CSV file"),
    (("retrain", "--checkpoint", "{tmp}/net.npz", "--store", "{tmp}/empty.sqlite3"), "no saved drawings"),
])
def test_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.npz").write_bytes(b"junk")
    save_network(Network(seed=0), tmp_path / "net.npz")
    result = run(*[a.format(tmp=tmp_path) for a in args], home=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1


def test_bad_option_values_exit_nonzero():
    result = run("train", "--batch-size", "zero")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_feedback_list_export_import_and_retrain(tmp_path, mnist_dir, trained_net):
    store_path = tmp_path / "drawings.sqlite3"
    store = FeedbackStore(store_path)
    rng = np.random.default_rng(0)
    for label in (3, 3, 7):
        store.add(rng.random((28, 28)).astype(np.float32), label)
    result = run("feedback", "--store", store_path, "list", home=tmp_path)
    assert result.returncode == 0 and "total" in result.stdout.lower()
    csv = tmp_path / "out.csv"
    assert run("feedback", "--store", store_path, "export", csv, home=tmp_path).returncode == 0
    assert csv.read_text().splitlines()[0].startswith("label,pixel0,")
    other = tmp_path / "other.sqlite3"
    result = run("feedback", "--store", other, "import", csv, home=tmp_path)
    assert result.returncode == 0 and "imported 3" in result.stdout
    result = run("feedback", "--store", other, "import", csv, home=tmp_path)
    assert result.returncode == 0 and "imported 0" in result.stdout and "3 already there" in result.stdout
    assert len(FeedbackStore(other)) == 3
    ckpt = save_network(trained_net, tmp_path / "net.npz")
    result = run("retrain", "--checkpoint", ckpt, "--store", store_path, "--epochs", "1", "--data-dir", mnist_dir,
                 home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MNIST test accuracy" in result.stdout
    assert list(tmp_path.glob("net.before-retrain-*.npz"))  # the previous network is kept


# ----------------------------------------------------------------------------- hostile checkpoint files
def _hostile_files(folder):
    """A few broken or hostile checkpoints the fault probe found (see tests/test_checkpoint.py for all)."""
    import io
    import zipfile

    from mnist_scratch.checkpoint import save_checkpoint

    net = Network(seed=0)
    files = {}
    meta = {"kind": "network", "sizes": [784, 64, 10], "dtype": "int8"}
    save_checkpoint(folder / "int8.npz", {k: v.astype(np.int8) for k, v in net.params.items()}, meta)
    files["int8"] = folder / "int8.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    (folder / "npy.npz").write_bytes(buffer.getvalue())
    files["npy"] = folder / "npy.npz"
    twelve = Network((784, 64, 12), seed=0)
    save_checkpoint(folder / "twelve.npz", dict(twelve.params), {"kind": "network", "sizes": [784, 64, 12],
                                                                  "dtype": "float32"})
    files["twelve"] = folder / "twelve.npz"
    save_network(net, folder / "extra.npz")
    with zipfile.ZipFile(folder / "extra.npz", "a") as archive:
        archive.writestr("extra.npy", b"\x93NUMPY" + b"\x00" * 100)
    files["extra"] = folder / "extra.npz"
    save_checkpoint(folder / "future.npz", dict(net.params), {"kind": "training", "sizes": [784, 64, 10],
                    "dtype": "float32", "config": {"optimizer": "adam", "warp_drive": True}})
    files["future"] = folder / "future.npz"
    return files


@pytest.mark.parametrize("command", ["evaluate", "train", "retrain"])
def test_hostile_checkpoints_give_one_line_errors_from_every_command(tmp_path, command):
    from idx_files import write_idx
    from mnist_scratch.data import FILES

    rng = np.random.default_rng(0)
    tiny = tmp_path / "tiny-mnist"
    for split, n in (("train", 300), ("test", 50)):
        write_idx(tiny / FILES[split][0], rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tiny / FILES[split][1], (np.arange(n) % 10).astype(np.uint8))
    store = tmp_path / "fb.sqlite3"
    FeedbackStore(store).add(np.zeros((28, 28), np.uint8), 3)
    extra = {"train": ["--resume", "--steps", "2", "--quiet"], "retrain": ["--store", store], "evaluate": []}
    for name, path in _hostile_files(tmp_path).items():
        if name == "future" and command != "train":
            continue  # only resuming needs the training settings; the weights themselves are fine
        before = path.read_bytes()
        result = run(command, "--checkpoint", path, "--data-dir", tiny, *extra[command], home=tmp_path)
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in result.stderr, (name, result.stderr)
        assert str(path) in errors[0] and "allow_pickle" not in errors[0], (name, errors[0])
        assert path.read_bytes() == before  # nothing the user saved is touched


def test_training_again_keeps_the_previous_checkpoint(tmp_path, mnist_dir):
    ckpt = tmp_path / "net.npz"
    for _ in range(2):
        result = run("train", "--recipe", "classic", "--steps", "2", "--quiet", "--checkpoint", ckpt,
                     "--data-dir", mnist_dir, home=tmp_path)
        assert result.returncode == 0, result.stderr
    assert "the existing checkpoint is kept as net.before-train-" in result.stdout
    assert len(list(tmp_path.glob("net.before-train-*.npz"))) == 1 and ckpt.exists()
