"""Seconds per epoch: this package against PyTorch (CPU, eager) and scikit-learn's MLPClassifier.

All three train the same 784-64-10 ReLU network with Adam (lr 1e-3, no weight decay), batch size
128, on the same 60,000 MNIST digits for the same number of epochs, then report test accuracy.
Runs are interleaved (ours, torch, sklearn, ours, ...) so that machine noise hits all alike, and
each run is a fresh subprocess: in one process, the BLAS and OpenMP worker threads that one library
leaves spinning slow down the next library's run (seen here: PyTorch 40 % slower right after a NumPy
run). The table gives the median seconds per epoch over the repetitions.

NumPy's matrix products run on OpenBLAS, whose kernels depend on OPENBLAS_CORETYPE: when the
environment sets it (this project's development machines pin the AVX2 "Haswell" kernels), our
package is also run with the variable removed, so OpenBLAS picks its own kernels; that row is
labelled and is not the headline figure, which is always the environment as given.
Our package limits BLAS to one thread while training (``mnist_scratch/threads.py``); the row
"BLAS threads as given" runs it with the environment's setting (OpenBLAS: one per core) instead.

Two more sections:

* augmentation: milliseconds per batch of 128 for the readable reference (``random_affine``) and
  the fast path training uses (``Batches``: shuffle, gather, warp), in this process;
* under load: the default recipe for a few epochs, alone and with two other CPU-bound processes
  (``python -c "while True: pass"``) running, interleaved, fresh processes; once as the package
  trains (one BLAS thread, batches made by a worker process) and once with the BLAS threads as
  given and the batches made in the loop (how it trained before). Target: loaded <= 2.5 x quiet.

    python benchmarks/bench_speed.py                     # everything, ~6 min on a quiet 2-core machine
    python benchmarks/bench_speed.py --quick             # 2 epochs, 2 repeats: ~1.5 min
    python benchmarks/bench_speed.py --sections plain    # or augment, load
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from functools import partial

import numpy as np

from common import blas, machine, mnist
from mnist_scratch import Network
from mnist_scratch.train import TrainConfig, accuracy, train


def as_given() -> None:
    """Train with the environment's BLAS threads and the batches made in the loop (the old way)."""
    from mnist_scratch import batches, threads
    from mnist_scratch import train as train_module

    threads.TRAINING_BLAS_THREADS = None  # threadpoolctl: leave the limit as it is
    train_module.batch_source = partial(batches.batch_source, prefetch=False)


def run_ours(data, epochs, seed):
    net = Network((784, 64, 10), seed=seed)
    config = TrainConfig(optimizer="adam", lr=1e-3, schedule="constant", batch_size=128, epochs=epochs,
                         augment=False, seed=seed)
    start = time.perf_counter()
    train(net, data.x_train, data.y_train, config, progress=False)
    seconds = time.perf_counter() - start
    return seconds / epochs, accuracy(net, data.x_test, data.y_test)


def run_torch(data, epochs, seed):
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train)
    model = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n_batches = len(y) // 128
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(y))
        for i in range(n_batches):
            idx = perm[i * 128:(i + 1) * 128]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        predicted = model(torch.from_numpy(data.x_test)).argmax(1).numpy()
    return seconds / epochs, float(np.mean(predicted == data.y_test))


def run_sklearn(data, epochs, seed):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(64,), activation="relu", solver="adam", alpha=0.0,
                          batch_size=128, learning_rate_init=1e-3, max_iter=epochs, shuffle=True, tol=0.0,
                          n_iter_no_change=10 ** 6, random_state=seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.x_train, data.y_train)
    seconds = time.perf_counter() - start
    return seconds / epochs, float(np.mean(model.predict(data.x_test) == data.y_test))


def run_ours_as_given(data, epochs, seed):
    as_given()
    return run_ours(data, epochs, seed)


def run_recipe(data, epochs, seed):
    """The default recipe (augmentation on) for ``epochs`` epochs of 55,000 digits."""
    import dataclasses

    from mnist_scratch.data import train_val_split
    from mnist_scratch.train import RECIPES

    x, y, _, _ = train_val_split(data.x_train, data.y_train)
    net = Network((784, 64, 10), seed=seed)
    start = time.perf_counter()
    train(net, x, y, dataclasses.replace(RECIPES["default"], epochs=epochs, seed=seed), progress=False)
    seconds = time.perf_counter() - start
    return seconds / epochs, accuracy(net, data.x_test, data.y_test)


def run_recipe_as_given(data, epochs, seed):
    as_given()
    return run_recipe(data, epochs, seed)


RUNNERS = {"ours": run_ours, "ours-unpinned": run_ours, "ours-as-given": run_ours_as_given, "torch": run_torch,
           "sklearn": run_sklearn, "recipe": run_recipe, "recipe-as-given": run_recipe_as_given}


def available() -> dict[str, str]:
    """Runner key -> display name, for the peers that are installed."""
    names = {"ours": "mnist_scratch (NumPy)", "ours-as-given": "mnist_scratch, BLAS threads as given"}
    if os.environ.get("OPENBLAS_CORETYPE"):
        names["ours-unpinned"] = "mnist_scratch, OPENBLAS_CORETYPE unset"
    try:
        import torch

        names["torch"] = f"PyTorch {torch.__version__} eager CPU ({torch.get_num_threads()} threads)"
    except ImportError:
        print("PyTorch not installed (pip install torch==2.13.0): skipped")
    try:
        import sklearn

        names["sklearn"] = f"scikit-learn {sklearn.__version__} MLPClassifier"
    except ImportError:
        print("scikit-learn not installed: skipped")
    return names


def worker(args) -> None:
    """One run in this (fresh) process; prints a JSON line."""
    import io
    import contextlib

    with contextlib.redirect_stdout(io.StringIO()):
        data = mnist(args.data_dir)
    per_epoch, acc = RUNNERS[args.worker](data, args.epochs, args.seed)
    print(json.dumps({"per_epoch": per_epoch, "acc": acc, "blas": blas()}))


def run_worker(key, epochs, seed, data_dir, env=None) -> dict:
    """Run ``key`` in a fresh process; its JSON result."""
    command = [sys.executable, __file__, "--worker", key, "--epochs", str(epochs), "--seed", str(seed)]
    if data_dir:
        command += ["--data-dir", data_dir]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def plain_epochs(args) -> None:
    names = available()
    times = {key: [] for key in names}
    accs = {key: [] for key in names}
    for rep in range(args.repeats):
        for key, name in names.items():
            env = dict(os.environ)
            if key == "ours-unpinned":
                del env["OPENBLAS_CORETYPE"]
            result = run_worker(key, args.epochs, rep, args.data_dir, env)
            if key.startswith("ours") and rep == 0:
                print(f"  {name}: {result['blas']}")
            times[key].append(result["per_epoch"])
            accs[key].append(result["acc"])
            print(f"  repeat {rep + 1}: {name}: {result['per_epoch']:.3f} s/epoch, "
                  f"test accuracy {100 * result['acc']:.2f} %", flush=True)
    medians = {key: statistics.median(values) for key, values in times.items()}
    print(f"\n784-64-10, Adam lr 1e-3, batch 128, {args.epochs} epochs, median of {args.repeats} interleaved runs")
    print(f"{'':50s} {'s/epoch':>8s} {'test acc':>9s} {'this / ours':>12s} {'this / torch':>13s}")
    for key, name in names.items():
        versus_torch = f"{medians[key] / medians['torch']:12.2f}x" if "torch" in medians else f"{'-':>13s}"
        print(f"{name:50s} {medians[key]:8.3f} {100 * statistics.mean(accs[key]):8.2f}% "
              f"{medians[key] / medians['ours']:11.2f}x {versus_torch}")
    if "torch" in medians:
        print(f"\ntarget: ours <= 0.4 x PyTorch's epoch time; measured {medians['ours'] / medians['torch']:.2f} x")


def augmentation(args) -> None:
    """Milliseconds per batch of 128: reference sampling against the fast path, in this process."""
    from mnist_scratch.augment import random_affine
    from mnist_scratch.batches import Batches
    from mnist_scratch.train import RECIPES

    data = mnist(args.data_dir)
    x, y = data.x_train[:55_000], data.y_train[:55_000]
    config = RECIPES["default"]
    batches = Batches(x, y, 128, len(y) // 128, seed=0, augment_config=config.augment_config)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    steps = 429 if not args.quick else 100

    def reference(step):
        return random_affine(x[order[step * 128:(step + 1) * 128]], rng, config.augment_config)

    rows = [("reference: gather + random_affine", reference), ("fast path: Batches(step)", batches)]
    print(f"\naugmentation, {steps} batches of 128 ({config.augment_config}), one thread:")
    for _ in range(2):
        for name, make in rows:
            make(0)
            wall, cpu = time.perf_counter(), time.thread_time()
            for step in range(steps):
                make(step)
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            print(f"  {name:36s} {1e3 * wall / steps:6.3f} ms/batch ({1e3 * cpu / steps:6.3f} ms CPU)", flush=True)


def under_load(args) -> None:
    """The default recipe alone and beside two CPU-bound processes, interleaved."""
    epochs = args.load_epochs
    variants = {"recipe": "as trained (1 BLAS thread, batches ahead)",
                "recipe-as-given": "BLAS threads as given, batches in loop"}
    times = {(key, loaded): [] for key in variants for loaded in (False, True)}
    print(f"\nunder load: default recipe, {epochs} epochs, {args.load_repeats} interleaved repeats "
          f"(loaded = two `python -c 'while True: pass'` processes beside it)")
    for rep in range(args.load_repeats):
        for key, name in variants.items():
            for loaded in (False, True):
                burn = [sys.executable, "-c", "while True: pass"]
                burners = [subprocess.Popen(burn) for _ in range(2 if loaded else 0)]
                try:
                    result = run_worker(key, epochs, rep, args.data_dir)
                finally:
                    for burner in burners:
                        burner.terminate()
                        burner.wait()
                times[(key, loaded)].append(result["per_epoch"] * epochs)
                print(f"  repeat {rep + 1}: {name}, {'loaded' if loaded else 'alone '}: "
                      f"{result['per_epoch'] * epochs:6.1f} s, test {100 * result['acc']:.2f} %", flush=True)
    print(f"\n{'':42s} {'alone s':>8s} {'loaded s':>9s} {'loaded / alone':>15s}")
    for key, name in variants.items():
        quiet, loaded = (statistics.median(times[(key, flag)]) for flag in (False, True))
        print(f"{name:42s} {quiet:8.1f} {loaded:9.1f} {loaded / quiet:14.2f}x")
    quiet, loaded = (statistics.median(times[("recipe", flag)]) for flag in (False, True))
    print(f"\ntarget: loaded <= 2.5 x alone (on an otherwise quiet machine); measured {loaded / quiet:.2f} x")


SECTIONS = {"plain": plain_epochs, "augment": augmentation, "load": under_load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs of each plain-epoch run")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats of the plain-epoch runs")
    parser.add_argument("--load-epochs", type=int, default=5, help="epochs of each under-load run")
    parser.add_argument("--load-repeats", type=int, default=3)
    parser.add_argument("--sections", nargs="+", choices=sorted(SECTIONS), default=list(SECTIONS))
    parser.add_argument("--quick", action="store_true", help="2 epochs, 2 repeats everywhere")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--worker", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.quick:
        args.epochs = args.load_epochs = 2
        args.repeats = args.load_repeats = 2
    print(f"machine: {machine()}")
    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    mnist(args.data_dir)
    for section in args.sections:
        SECTIONS[section](args)
    print(f"\nload average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
