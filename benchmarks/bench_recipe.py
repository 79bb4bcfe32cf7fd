"""The default recipe: training time and test accuracy of 784-64-10 on full MNIST.

Trains exactly what ``python -m mnist_scratch train`` trains (55,000 digits, 5,000 held out for
validation), times the training loop, and evaluates once on the 10,000 test digits.
Run: python benchmarks/bench_recipe.py [--recipe default] [--seeds 0 1 2] [--hidden 256] [--epochs N]
"""
from __future__ import annotations

import argparse
import dataclasses

from common import machine, mnist
from mnist_scratch import Network
from mnist_scratch.data import train_val_split
from mnist_scratch.train import RECIPES, accuracy, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="default", choices=sorted(RECIPES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64], help="hidden layer sizes")
    parser.add_argument("--epochs", type=float, default=None, help="override the recipe's epochs")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    data = mnist(args.data_dir)
    x_train, y_train, x_val, y_val = train_val_split(data.x_train, data.y_train)
    config = RECIPES[args.recipe]
    if args.epochs is not None:
        config = dataclasses.replace(config, epochs=args.epochs, steps=None)
    sizes = (784, *args.hidden, 10)
    print(f"recipe {args.recipe}, network {'-'.join(map(str, sizes))}: {config}")
    for seed in args.seeds:
        net = Network(sizes, seed=seed)
        result = train(net, x_train, y_train, dataclasses.replace(config, seed=seed),
                       x_val=x_val, y_val=y_val, progress=False)
        print(f"seed {seed}: {result.seconds:.1f} s training, validation {100 * result.history[-1]['val_acc']:.2f} %, "
              f"test {100 * accuracy(net, data.x_test, data.y_test):.2f} %", flush=True)


if __name__ == "__main__":
    main()
