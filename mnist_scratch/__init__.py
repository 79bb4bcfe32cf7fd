"""mnist_scratch: a neural network for handwritten digits, from scratch in NumPy.

    from mnist_scratch import Network, load_mnist
    x, y = load_mnist("train")          # (60000, 784) float32 in [0, 1], (60000,) int64
    net = Network(sizes=(784, 64, 10), seed=0)
"""
from .data import load_mnist
from .network import Network

__all__ = ["Network", "load_mnist"]
__version__ = "0.1.0"
