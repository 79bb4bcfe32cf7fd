"""``python -m mnist_scratch ...``: see :mod:`mnist_scratch.cli`."""
import sys

from .cli import main

sys.exit(main())
