"""The command line: ``python -m mnist_scratch {train,evaluate,feedback,retrain} --help``.

Every command prints a one-line ``error: ...`` and exits with status 2 on bad arguments, missing
files or unreadable data, never a traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from pathlib import Path

from . import paths


class CliError(Exception):
    """A problem to report in one line."""


# ----------------------------------------------------------------------------- arguments
class Parser(argparse.ArgumentParser):
    """argparse with the package's error format: one ``error:`` line and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _batch_size(text: str) -> int:
    return 0 if text == "full" else _positive_int(text)  # 0 stands for the full batch


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes are comma-separated integers, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1, got {text}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with the four MNIST .gz files (default: $MNIST_SCRATCH_DATA, the "
                             "cache in data/mnist, a download, or the bundled 5,000-digit sample)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help=f"checkpoint file (default: {paths.default_checkpoint()})")


def build_parser() -> argparse.ArgumentParser:
    from .optimizers import OPTIMIZERS, SCHEDULES
    from .train import RECIPES

    default = RECIPES["default"]
    parser = Parser(prog="python -m mnist_scratch", allow_abbrev=False,
                                     description="A neural network for handwritten digits, from scratch in NumPy.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=description, allow_abbrev=False)

    p = command("train", "train a network on MNIST and report its test accuracy",
                "Train a network on MNIST (a fixed validation set carved from the training set; the test "
                "set is only evaluated), save a checkpoint and print the test accuracy. A checkpoint "
                "already at --checkpoint is kept as <name>.before-train-<time>.npz unless --resume "
                "continues it.")
    _common(p)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="default",
                   help="starting settings; the options below override them (default: default, "
                        "Adam + cosine schedule + augmentation)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"(default: the recipe's; {default.optimizer})")
    p.add_argument("--epochs", type=_positive_float, help=f"passes over the training set (default: the "
                                                          f"recipe's; {default.epochs:g})")
    p.add_argument("--steps", type=_positive_int, help="total optimizer steps, overrides --epochs "
                                                       "(default: from --epochs)")
    p.add_argument("--lr", type=_positive_float, help=f"base learning rate (default: the recipe's; {default.lr:g})")
    p.add_argument("--schedule", choices=SCHEDULES, help=f"(default: the recipe's; {default.schedule})")
    p.add_argument("--batch-size", type=_batch_size, help=f"an integer, or 'full' for full-batch gradient "
                                                          f"descent (default: the recipe's; {default.batch_size})")
    p.add_argument("--weight-decay", type=float, help=f"L2 penalty on the weights (default: the recipe's; "
                                                      f"{default.weight_decay:g})")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="random shifts/rotations/scalings of each batch (default: the recipe's; on)")
    p.add_argument("--hidden", type=_hidden, default=(64,), help="hidden layer sizes, e.g. 64 or 128,64 (default: 64)")
    p.add_argument("--seed", type=int, help=f"(default: the recipe's; {default.seed})")
    p.add_argument("--checkpoint-every", type=_positive_int, help="also save every N steps (default: only at the end)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --checkpoint (default: off)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (default: off)")
    p.add_argument("--with-drawings", action="store_true",
                   help="also train on your saved drawings (the feedback store), each repeated so that together "
                        "they make up --drawing-share of the training set (default: off)")
    p.add_argument("--drawing-share", type=_share, default=None,
                   help="with --with-drawings: the drawings' share of the training set after repetition "
                        "(default: 0.05)")
    p.add_argument("--store", type=Path, default=None, help=f"feedback store (default: {paths.feedback_db()})")

    p = command("evaluate", "accuracy and a per-digit table for a checkpoint",
                "Load a checkpoint and report its accuracy on the MNIST test set: overall, per digit "
                "(precision and recall) and the most common confusions; optionally write the figures.")
    _common(p)
    p.add_argument("--figures", type=Path, default=None, help="also write the evaluation figures (PNG) "
                                                              "into this folder (default: none)")
    p.add_argument("--drawings", action="store_true",
                   help="also report on your saved drawings and the network's running record on them (default: off)")
    p.add_argument("--store", type=Path, default=None, help=f"feedback store (default: {paths.feedback_db()})")

    p = command("feedback", "your saved drawings: counts, export, import",
                "List, export or import the drawings saved from the drawing pad.")
    p.add_argument("--store", type=Path, default=None, help=f"feedback store (default: {paths.feedback_db()})")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="saved drawings per digit (the default)", allow_abbrev=False)
    e = actions.add_parser("export", help="write a Kaggle-style CSV: label,pixel0,...,pixel783", allow_abbrev=False)
    e.add_argument("csv", type=Path)
    i = actions.add_parser("import", help="read a Kaggle-style CSV into the store", allow_abbrev=False)
    i.add_argument("csv", type=Path)

    p = command("retrain", "fine-tune on your saved drawings mixed with MNIST replay",
                "Fine-tune the network in --checkpoint on your saved drawings, mixed with a replay of "
                "MNIST digits so it does not forget them, and save it (the previous network is kept as "
                "<name>.before-retrain-<time>.npz).")
    _common(p)
    p.add_argument("--store", type=Path, default=None, help=f"feedback store (default: {paths.feedback_db()})")
    p.add_argument("--epochs", type=_positive_float, default=None,
                   help="passes over the mixed data (default: the retrain recipe's)")
    p.add_argument("--output", type=Path, default=None, help="where to save the fine-tuned network "
                                                               "(default: replace --checkpoint)")
    return parser


# ----------------------------------------------------------------------------- commands
def _existing_checkpoint(args) -> Path:
    checkpoint = args.checkpoint or paths.default_checkpoint()
    if not checkpoint.exists():
        raise CliError(f"no checkpoint at {checkpoint}; train one first: python -m mnist_scratch train")
    return checkpoint


def cmd_train(args) -> None:
    from .checkpoint import check_writable, keep_backup
    from .data import load_dataset, train_val_split
    from .network import Network, architecture
    from .train import RECIPES, accuracy, train

    overrides = {name: getattr(args, name) for name in
                 ("optimizer", "epochs", "steps", "lr", "schedule", "weight_decay", "augment", "seed")
                 if getattr(args, name) is not None}
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size or None
    if args.epochs is not None and args.steps is None:
        overrides["steps"] = None
    if args.checkpoint_every:
        overrides["checkpoint_every"] = args.checkpoint_every
    config = dataclasses.replace(RECIPES[args.recipe], **overrides)
    sizes = (784, *args.hidden, 10)
    checkpoint = args.checkpoint or paths.default_checkpoint()
    if args.resume and not checkpoint.exists():
        raise CliError(f"--resume: no checkpoint at {checkpoint}")
    if args.drawing_share is not None and not args.with_drawings:
        raise CliError("--drawing-share only applies with --with-drawings")
    check_writable(checkpoint)  # now, not after training
    data = load_dataset(args.data_dir)
    x_train, y_train, x_val, y_val = train_val_split(data.x_train, data.y_train)
    drawings = None
    if args.with_drawings:
        from .retrain import with_drawings
        from .store import FeedbackStore

        store = FeedbackStore(args.store)
        x_draw, y_draw = store.load()
        if len(y_draw) == 0:
            raise CliError(f"--with-drawings: there are no saved drawings in {store.path}")
        x_train, y_train, repeats = with_drawings(x_train, y_train, x_draw, y_draw,
                                                  share=args.drawing_share or 0.05)
        drawings = {"count": len(y_draw), "repeats": repeats, "store": store.path.name}
        print(f"drawings: {len(y_draw)} from {store.path}, each {repeats} times in the training set")
    print(f"data: {data.source} ({len(y_train)} train, {len(y_val)} validation, {len(data.y_test)} test digits)")
    print(f"network: {architecture(sizes)}; {config.optimizer}, lr {config.lr:g}, {config.schedule}, "
          f"batch {config.batch_size or 'full'}, augment {'on' if config.augment else 'off'}")
    if not args.resume and checkpoint.exists():
        print(f"the existing checkpoint is kept as {keep_backup(checkpoint, 'before-train').name}")
    net = Network(sizes, seed=config.seed)
    result = train(net, x_train, y_train, config, x_val=x_val, y_val=y_val, checkpoint_path=checkpoint,
                   resume=args.resume, progress=not args.quiet)
    if drawings is not None:  # the checkpoint records how many of the user's drawings it saw
        from .checkpoint import load_checkpoint, save_checkpoint

        arrays, meta = load_checkpoint(checkpoint)
        save_checkpoint(checkpoint, arrays, {**meta, "drawings": drawings})
    last = result.history[-1] if result.history else {}
    val = last.get("val_acc")
    print(f"trained {result.step} steps in {result.seconds:.1f} s"
          + (f"; validation accuracy {100 * val:.2f} %" if val is not None else ""))
    print(f"checkpoint: {checkpoint}")
    print(f"test accuracy: {100 * accuracy(net, data.x_test, data.y_test):.2f} % "
          f"({len(data.y_test)} digits{', subset' if data.is_subset else ''})")


def cmd_evaluate(args) -> None:
    from .checkpoint import load_network
    from .network import architecture
    from .data import load_dataset
    from .evaluate import evaluate, format_report

    checkpoint = _existing_checkpoint(args)
    net = load_network(checkpoint)
    data = load_dataset(args.data_dir)
    report = evaluate(net, data.x_test, data.y_test)
    print(f"checkpoint: {checkpoint} ({architecture(net.sizes)})")
    print(f"data: {data.source}, test split")
    print(format_report(report))
    if args.drawings:
        _report_drawings(net, checkpoint, args.store)
    if args.figures is not None:
        from .plots import save_evaluation_figures
        from .train import read_history

        written = save_evaluation_figures(net, data.x_test, data.y_test, args.figures,
                                          history=read_history(checkpoint) or None)
        print(f"figures: {len(written)} PNG files in {args.figures}")


def _report_drawings(net, checkpoint: Path, store_path: Path | None) -> None:
    """``evaluate --drawings``: the network on the user's saved drawings, saying whether it learned
    from them, and its honest running record (predictions made before each label was given)."""
    from .checkpoint import read_metadata
    from .evaluate import evaluate, format_report
    from .store import FeedbackStore

    store = FeedbackStore(store_path)
    x, y = store.load()
    if len(y) == 0:
        print(f"\nyour drawings: none saved in {store.path}")
        return
    meta = read_metadata(checkpoint)
    seen = max(int(meta.get("drawings", {}).get("count", 0)),
               int(meta.get("user", {}).get("retrained_on_drawings", 0)))
    print(f"\nyour drawings: {len(y)} in {store.path}"
          + (f"; this network learned from {seen} drawings, so the figures below are a fit, not a test"
             if seen else "; this network has not learned from them"))
    print(format_report(evaluate(net, x, y)))
    print(f"running record: {store.running_accuracy().text()}")


def cmd_feedback(args) -> None:
    from .digit_csv import read_csv
    from .store import FeedbackStore, summarize_counts

    store = FeedbackStore(args.store)
    if args.action in (None, "list"):
        print(f"store: {store.path}")
        print(summarize_counts(store.counts()))
    elif args.action == "export":
        n = store.export_csv(args.csv)
        print(f"exported {n} drawings to {args.csv}")
    elif args.action == "import":
        if not args.csv.is_file():
            raise CliError(f"no CSV file at {args.csv}")
        x, y = read_csv(args.csv)
        n = store.add_images(x, y, source=f"csv:{args.csv.name}")
        skipped = len(y) - n
        print(f"imported {n} drawings from {args.csv} into {store.path}"
              + (f" ({skipped} already there, skipped)" if skipped else ""))


def cmd_retrain(args) -> None:
    from .checkpoint import check_writable, load_network
    from .retrain import RetrainConfig, retrain_on_feedback
    from .store import FeedbackStore

    checkpoint = _existing_checkpoint(args)
    net = load_network(checkpoint)
    if args.output is not None:
        check_writable(args.output)
    store = FeedbackStore(args.store)
    config = RetrainConfig() if args.epochs is None else RetrainConfig(epochs=args.epochs)
    report = retrain_on_feedback(net, store, config=config, data_dir=args.data_dir,
                                 checkpoint_path=args.output or checkpoint)
    print(report.summary())


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "feedback": cmd_feedback, "retrain": cmd_retrain}


def main(argv: list[str] | None = None) -> int:
    from .data import DownloadError
    from .store import FeedbackStoreError
    from .train import TrainingDiverged

    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, *rest: print(f"warning: {message}", file=sys.stderr)
            COMMANDS[args.command](args)
    # CheckpointError, IdxFormatError, EmptyDrawingError and the CSV errors are ValueErrors;
    # FileNotFoundError and PermissionError are OSErrors.
    except (CliError, DownloadError, TrainingDiverged, FeedbackStoreError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
