"""Augmentation: the reference sampling, the fast path against it, and the batches of a run."""
import numpy as np
import pytest
from scipy import ndimage

from mnist_scratch import augment
from mnist_scratch.augment import AugmentConfig
from mnist_scratch.batch_processes import ProcessPrefetcher, can_fork
from mnist_scratch.batches import Batches, Prefetcher, batch_source
from mnist_scratch.train import TrainConfig

IDENTITY = AugmentConfig(max_shift=0, max_rotate=0, min_scale=1, max_scale=1, elastic_alpha=0)


@pytest.fixture(scope="module")
def digits(mnist_data):
    """32 real training digits, (32, 784) float32 in [0, 1] on MNIST's 1/255 grid."""
    return mnist_data.x_train[:32]


def bank_coordinates(cfg, seed, size):
    """The source coordinates make_bank draws with ``default_rng(seed)`` (the same draws, in order)."""
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(cfg.max_rotate) * rng.uniform(-1, 1, size)
    scale = rng.uniform(cfg.min_scale, cfg.max_scale, size)
    fraction = rng.uniform(0, 1, (size, 2)) if cfg.max_shift >= 1 else np.zeros((size, 2))
    bend = augment.elastic_displacements(size, rng, cfg.elastic_alpha, cfg.elastic_sigma) if cfg.elastic_alpha else None
    return augment.source_coordinates(angle, scale, fraction, bend)


# ----------------------------------------------------------------------------- reference
def test_reference_identity_and_whole_pixel_shift(digits):
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(augment.random_affine(digits, rng, IDENTITY), digits, atol=1e-6)
    rows, cols = augment.source_coordinates(np.zeros(1), np.ones(1), np.array([[2.0, -1.0]]))
    moved = augment.bilinear_sample(digits[:1].reshape(1, 28, 28), rows, cols).reshape(28, 28)
    expected = np.zeros((28, 28), np.float32)
    expected[2:, :27] = digits[0].reshape(28, 28)[:26, 1:]  # content moves down 2, left 1
    np.testing.assert_allclose(moved, expected, atol=1e-6)


def test_reference_keeps_range_and_draws_five_numbers_per_digit(digits):
    rng = np.random.default_rng(0)
    out = augment.random_affine(digits, rng)
    assert out.shape == digits.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 + 1e-6
    assert not np.allclose(out, digits)
    again = np.random.default_rng(0)
    again.random((len(digits), 5), dtype=np.float32)
    assert rng.random() == again.random()


# ----------------------------------------------------------------------------- fast path
@pytest.mark.parametrize("cfg", [AugmentConfig(), AugmentConfig(elastic_alpha=0), AugmentConfig(elastic_alpha=3.0),
                                 AugmentConfig(max_rotate=40, min_scale=0.5, max_scale=2.0, max_shift=3)],
                         ids=["default", "affine-only", "strong-elastic", "wide-ranges"])
def test_fast_path_gives_the_reference_numbers(cfg, digits):
    bank = augment.make_bank(cfg, np.random.default_rng(7), size=16)
    rows, cols = bank_coordinates(cfg, 7, 16)
    rng = np.random.default_rng(1)
    warp = rng.integers(0, 16, len(digits))
    shift = rng.integers(-bank.max_shift, bank.max_shift + 1, (len(digits), 2))
    images = augment.to_padded_uint8(digits, bank.max_shift)
    fast = augment.warp_fast(images, bank, warp, shift)
    reference = augment.bilinear_sample(digits.reshape(-1, 28, 28), rows[warp] + shift[:, :1],
                                        cols[warp] + shift[:, 1:])
    assert fast.dtype == np.float32 and fast.shape == digits.shape
    np.testing.assert_allclose(fast, reference, atol=2e-6)


def test_uint8_storage_is_exact_for_mnist_pixels(digits):
    images = augment.to_padded_uint8(digits, 2)
    before, after = augment.border(2)
    assert images.shape == (len(digits), 28 + before + after, 28 + before + after) and images.dtype == np.uint8
    inner = images[:, before:before + 28, before:before + 28].reshape(len(digits), 784)
    np.testing.assert_array_equal(inner / np.float32(255), digits)
    assert images.sum() == inner.sum()  # the border is zero


def test_identity_bank_reproduces_digits(digits):
    bank = augment.make_bank(IDENTITY, np.random.default_rng(0), size=1)
    images = augment.to_padded_uint8(digits, 0)
    out = augment.warp_fast(images, bank, np.zeros(len(digits), np.intp), np.zeros((len(digits), 2), np.intp))
    np.testing.assert_allclose(out, digits, atol=1e-6)


def test_whole_pixel_shift_moves_the_source(digits):
    """A warp that is a pure (sub-pixel) shift, plus a whole-pixel source shift of (-2, 1): the
    output at (r, c) is the unshifted output at (r - 2, c + 1)."""
    cfg = AugmentConfig(max_rotate=0, min_scale=1, max_scale=1, elastic_alpha=0)
    bank = augment.make_bank(cfg, np.random.default_rng(0), size=1)
    images = augment.to_padded_uint8(digits[:4], 2)
    warp = np.zeros(4, np.intp)
    still = augment.warp_fast(images, bank, warp, np.zeros((4, 2), np.intp)).reshape(4, 28, 28)
    moved = augment.warp_fast(images, bank, warp, np.tile([[-2, 1]], (4, 1))).reshape(4, 28, 28)
    np.testing.assert_allclose(moved[:, 2:, :27], still[:, :26, 1:], atol=1e-6)
    assert not np.allclose(moved, still)


def test_points_far_outside_read_zeros_even_next_to_thick_ink():
    """A thickened digit touching every edge of the box, shrunk to almost nothing and shifted:
    every output pixel beyond the shrunken ink is exactly zero."""
    full = np.ones((1, 784), np.float32)
    cfg = AugmentConfig(max_rotate=0, min_scale=0.25, max_scale=0.25, elastic_alpha=0)
    bank = augment.make_bank(cfg, np.random.default_rng(0), size=1)
    images = augment.thicken(augment.to_padded_uint8(full, bank.max_shift))
    for shift in ([-2, -2], [2, 2], [2, -2], [0, 0]):
        out = augment.warp_fast(images, bank, np.zeros(1, np.intp), np.array([shift])).reshape(28, 28)
        rows, cols = np.nonzero(out)
        assert rows.max() - rows.min() <= 9 and cols.max() - cols.min() <= 9, shift  # 30 px * 0.25, + 1


def test_mismatched_border_is_rejected(digits):
    bank = augment.make_bank(AugmentConfig(), np.random.default_rng(0), size=2)
    with pytest.raises(ValueError, match="max_shift"):
        augment.warp_fast(augment.to_padded_uint8(digits, 1), bank, np.zeros(len(digits), np.intp),
                          np.zeros((len(digits), 2), np.intp))


def test_thicken_is_a_3x3_grey_dilation(digits):
    images = augment.to_padded_uint8(digits, 2)
    expected = ndimage.grey_dilation(images, size=(1, 3, 3))
    np.testing.assert_array_equal(augment.thicken(images), expected)


def test_elastic_fields_are_smooth_and_as_strong_as_asked():
    fields = augment.elastic_displacements(20, np.random.default_rng(0), alpha=3.0, sigma=4.0)
    assert fields.shape == (20, 2, 784) and fields.dtype == np.float32
    np.testing.assert_allclose(np.abs(fields).reshape(20, -1).max(axis=1), 3.0, rtol=1e-5)
    grid = fields.reshape(20, 2, 28, 28)
    # Neighbours move together: a step between pixels is a fraction of the largest displacement
    # (unsmoothed noise of the same peak would jump by up to twice the peak).
    assert np.abs(np.diff(grid, axis=-1)).max() < 0.35 * 3.0
    assert np.abs(np.diff(grid, axis=-2)).max() < 0.35 * 3.0


@pytest.mark.parametrize("thicken", [0.0, 0.5, 1.0])
def test_random_warp_fast_is_seeded_and_in_range(thicken, digits):
    cfg = AugmentConfig(thicken=thicken, elastic_alpha=2.0, bank_size=32)
    warps = augment.make_epoch_warps(cfg, np.random.default_rng(0))
    images = augment.to_padded_uint8(digits, 2)
    out = augment.random_warp_fast(images, np.random.default_rng(3), warps, cfg)
    again = augment.random_warp_fast(images, np.random.default_rng(3), warps, cfg)
    np.testing.assert_array_equal(out, again)
    assert out.shape == digits.shape and out.min() >= 0 and out.max() <= 1 + 1e-6
    ink = (out > 0.5).sum(1) / np.maximum((digits > 0.5).sum(1), 1)
    if thicken == 1.0:  # every digit drawn with a broader pen: clearly more ink
        assert np.median(ink) > 1.3
    if thicken == 0.0:
        assert 0.6 < np.median(ink) < 1.3


# ----------------------------------------------------------------------------- batches of a run
@pytest.fixture(scope="module")
def small_set(mnist_data):
    return mnist_data.x_train[:1000], mnist_data.y_train[:1000]


@pytest.mark.parametrize("augment_config", [None, AugmentConfig(thicken=0.3, elastic_alpha=2.0, bank_size=64)],
                         ids=["plain", "augmented"])
def test_a_batch_depends_only_on_the_step(augment_config, small_set):
    x, y = small_set
    batches = Batches(x, y, 100, 10, seed=3, augment_config=augment_config)
    forward = [batches(step) for step in range(25)]
    backward = [Batches(x, y, 100, 10, seed=3, augment_config=augment_config)(step) for step in reversed(range(25))]
    for (xa, ya), (xb, yb) in zip(forward, reversed(backward)):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    other_seed = Batches(x, y, 100, 10, seed=4, augment_config=augment_config)(0)
    assert not np.array_equal(other_seed[1], forward[0][1])


def test_each_epoch_is_a_fresh_shuffle_of_every_digit(small_set):
    x, y = small_set
    batches = Batches(x, np.arange(1000), 100, 10, seed=0)
    epochs = [np.concatenate([batches(e * 10 + i)[1] for i in range(10)]) for e in range(2)]
    for labels in epochs:
        np.testing.assert_array_equal(np.sort(labels), np.arange(1000))
    assert not np.array_equal(epochs[0], epochs[1])
    xb, yb = batches(3)
    np.testing.assert_array_equal(xb, x[yb])  # plain batches are the digits themselves


def test_full_batch_is_the_whole_set_in_order(small_set):
    x, y = small_set
    xb, yb = Batches(x, y, 1000, 1, seed=0)(5)
    np.testing.assert_array_equal(xb, x)
    np.testing.assert_array_equal(yb, y)
    assert np.shares_memory(xb, x)  # not copied


def test_prefetcher_gives_the_same_batches_in_order(small_set):
    x, y = small_set
    batches = Batches(x, y, 100, 10, seed=1, augment_config=AugmentConfig(bank_size=64))
    assert_prefetches_in_order(Prefetcher(batches, start=7, stop=30, depth=3), batches, 7, 30)


def assert_prefetches_in_order(ahead, batches, start, stop):
    """``ahead`` gives ``batches(step)`` for ``start <= step < stop`` in order, then refuses ``stop``;
    it is closed either way."""
    try:
        for step in range(start, stop):
            xa, ya = ahead(step)
            xb, yb = batches(step)
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
        with pytest.raises(ValueError, match="in order"):
            ahead(stop)
    finally:
        ahead.close()


def test_prefetcher_passes_errors_on_and_closes_early():
    def make(step):
        if step == 2:
            raise RuntimeError("no batch 2")
        return np.zeros(1), np.zeros(1)

    ahead = Prefetcher(make, start=0, stop=100)
    ahead(0), ahead(1)
    with pytest.raises(RuntimeError, match="no batch 2"):
        ahead(2)
    ahead.close()


def test_batch_source_prefetches_unless_there_is_nothing_to_make(small_set):
    x, y = small_set
    ahead = ProcessPrefetcher if can_fork() else Prefetcher
    for augmenting, batch_size, process, kind in ((True, 100, True, ahead), (True, 100, False, Prefetcher),
                                                  (False, 100, True, Prefetcher), (False, 1000, True, Batches)):
        source = batch_source(x, y, TrainConfig(augment=augmenting), batch_size, 1000 // batch_size, start=0, stop=5,
                              process=process)
        assert isinstance(source, kind)
        source.close()


def test_batches_too_large_for_the_shared_ring_are_made_on_threads(small_set, monkeypatch):
    from mnist_scratch import batches as batches_module

    x, y = small_set
    monkeypatch.setattr(batches_module, "PROCESS_RING_BYTES", ProcessPrefetcher.ring_bytes((100, 784)) - 1)
    source = batch_source(x, y, TrainConfig(), 100, 10, start=0, stop=5)
    assert isinstance(source, Prefetcher)
    source.close()


def test_where_process_semaphores_fail_threads_make_the_batches(small_set, monkeypatch):
    import multiprocessing

    from mnist_scratch import batch_processes
    from mnist_scratch import batches as batches_module

    class NoSemaphores:
        def __getattr__(self, name):
            return getattr(multiprocessing.get_context("fork"), name)

        def Semaphore(self, value):  # noqa: N802 - as multiprocessing names it
            raise OSError("Function not implemented")   # what a machine without /dev/shm says

    monkeypatch.setattr(batch_processes.multiprocessing, "get_context", lambda method: NoSemaphores())
    monkeypatch.setattr(batches_module, "can_fork", lambda: True)
    x, y = small_set
    source = batch_source(x, y, TrainConfig(), 100, 10, start=0, stop=5)
    assert isinstance(source, Prefetcher)
    source.close()


needs_fork = pytest.mark.skipif(not can_fork(), reason="batches are made in processes only where they can be forked")


@needs_fork
@pytest.mark.parametrize("workers, own_every", [(1, 0), (1, 5), (2, 3)])
def test_process_prefetcher_gives_the_same_batches_in_order(workers, own_every, small_set):
    x, y = small_set
    batches = Batches(x, y, 100, 10, seed=1, augment_config=AugmentConfig(bank_size=64))
    ahead = ProcessPrefetcher(batches, start=7, stop=30, batch_shape=(100, 784), workers=workers, depth=3,
                              own_every=own_every)
    assert ahead.depth % workers == 0
    assert_prefetches_in_order(ahead, batches, 7, 30)
    assert not ahead._processes


@needs_fork
def test_process_prefetcher_reports_a_workers_error_with_its_step():
    def make(step):
        if step == 2:
            raise RuntimeError("no batch 2")
        return np.full((4, 3), step, np.float32), np.arange(4)

    ahead = ProcessPrefetcher(make, start=0, stop=100, batch_shape=(4, 3))
    try:
        assert ahead(0)[0][0, 0] == 0 and ahead(1)[0][0, 0] == 1
        with pytest.raises(RuntimeError, match="step 2 failed: RuntimeError: no batch 2"):
            ahead(2)
    finally:
        ahead.close()


@needs_fork
def test_process_prefetcher_names_a_batch_of_the_wrong_shape():
    ahead = ProcessPrefetcher(lambda step: (np.zeros((5, 3), np.float32), np.zeros(5, np.int64)), start=0,
                              stop=10, batch_shape=(4, 3))
    try:
        with pytest.raises(RuntimeError, match=r"step 0 failed: ValueError: a batch of shape \(5, 3\)"):
            ahead(0)
    finally:
        ahead.close()


@needs_fork
def test_process_prefetcher_notices_a_worker_that_died():
    import os

    def make(step):
        os._exit(3)  # as if the process had been killed

    ahead = ProcessPrefetcher(make, start=0, stop=10, batch_shape=(4, 3))
    try:
        with pytest.raises(RuntimeError, match="stopped .exit code 3. before step 0"):
            ahead(0)
    finally:
        ahead.close()


@needs_fork
def test_process_prefetcher_closes_early_without_waiting_for_the_rest(small_set):
    x, y = small_set
    batches = Batches(x, y, 100, 10, seed=1, augment_config=AugmentConfig(bank_size=64))
    ahead = ProcessPrefetcher(batches, start=0, stop=10**6, batch_shape=(100, 784))
    ahead(0)
    ahead.close()
    assert not ahead._processes


def test_no_shift_at_all(digits):
    cfg = AugmentConfig(max_shift=0, bank_size=8)
    warps = augment.make_epoch_warps(cfg, np.random.default_rng(0))
    out = augment.random_warp_fast(augment.to_padded_uint8(digits, 0), np.random.default_rng(0), warps, cfg)
    assert out.shape == digits.shape
