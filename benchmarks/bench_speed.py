"""Seconds per epoch: this package against PyTorch (CPU, eager) and scikit-learn's MLPClassifier.

All three train the same 784-64-10 ReLU network with Adam (lr 1e-3, no weight decay), batch size
128, on the same 60,000 MNIST digits for the same number of epochs, then report test accuracy.
Runs are interleaved (ours, torch, sklearn, ours, ...) so that machine noise hits all alike; the
table gives the median seconds per epoch over the repetitions. Run: python benchmarks/bench_speed.py
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from common import machine, mnist
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    data = mnist(args.data_dir)
    runners = {"mnist_scratch (NumPy)": run_ours}
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        runners[f"PyTorch {torch.__version__} eager CPU ({torch.get_num_threads()} threads)"] = run_torch
    except ImportError:
        print("PyTorch not installed (pip install torch==2.13.0): skipped")
    try:
        import sklearn

        runners[f"scikit-learn {sklearn.__version__} MLPClassifier"] = run_sklearn
    except ImportError:
        print("scikit-learn not installed: skipped")
    times = {name: [] for name in runners}
    accs = {name: [] for name in runners}
    for rep in range(args.repeats):
        for name, run in runners.items():
            per_epoch, acc = run(data, args.epochs, seed=rep)
            times[name].append(per_epoch)
            accs[name].append(acc)
            print(f"  repeat {rep + 1}: {name}: {per_epoch:.3f} s/epoch, test accuracy {100 * acc:.2f} %", flush=True)
    ours = statistics.median(times["mnist_scratch (NumPy)"])
    print(f"\n784-64-10, Adam lr 1e-3, batch 128, {args.epochs} epochs, median of {args.repeats} interleaved runs")
    print(f"{'':50s} {'s/epoch':>8s} {'test acc':>9s} {'ours / this':>12s}")
    for name in runners:
        median = statistics.median(times[name])
        print(f"{name:50s} {median:8.3f} {100 * statistics.mean(accs[name]):8.2f}% {ours / median:12.2f}x")


if __name__ == "__main__":
    main()
