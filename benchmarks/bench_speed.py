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
Run: python benchmarks/bench_speed.py [--epochs 5] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from common import blas, machine, mnist
from mnist_scratch import Network
from mnist_scratch.train import TrainConfig, accuracy, train


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


RUNNERS = {"ours": run_ours, "ours-unpinned": run_ours, "torch": run_torch, "sklearn": run_sklearn}


def available() -> dict[str, str]:
    """Runner key -> display name, for the peers that are installed."""
    names = {"ours": "mnist_scratch (NumPy)"}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--worker", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(f"machine: {machine()}")
    mnist(args.data_dir)
    names = available()
    times = {key: [] for key in names}
    accs = {key: [] for key in names}
    for rep in range(args.repeats):
        for key, name in names.items():
            command = [sys.executable, __file__, "--worker", key, "--epochs", str(args.epochs), "--seed", str(rep)]
            if args.data_dir:
                command += ["--data-dir", args.data_dir]
            env = dict(os.environ)
            if key == "ours-unpinned":
                del env["OPENBLAS_CORETYPE"]
            out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
            result = json.loads(out.strip().splitlines()[-1])
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
        print(f"\ntarget: ours <= 0.5 x PyTorch's epoch time; measured {medians['ours'] / medians['torch']:.2f} x")


if __name__ == "__main__":
    main()
