import logging

import numpy as np
import pytest
import torch
from PIL import Image

from sparring.errors import ConfigError, DataError
from sparring_image import data
from sparring_image.configs import DigitsConfig, FolderConfig, MNISTConfig, StackedMNISTConfig


def test_mnist_default():
    ds = data.build_mnist(MNISTConfig())
    assert len(ds) == 5000 and ds.num_classes == 10
    x, y = ds.tensors
    assert x.shape == (5000, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() == -1 and x.max() == 1
    assert torch.bincount(y).tolist() == [500] * 10
    xi, yi = ds[1234]
    assert xi.shape == (1, 28, 28) and int(yi) == int(y[1234])


def test_mnist_splits_are_disjoint_and_sized():
    train = data.build_mnist(MNISTConfig(split="train"))
    test = data.build_mnist(MNISTConfig(split="test"))
    assert len(train) == 4500 and len(test) == 500
    assert torch.bincount(test.labels).tolist() == [50] * 10
    flat_train = {bytes(t.numpy().tobytes()) for t in train.images[:, 0, 10:18, 10:18]}
    overlap = sum(bytes(t.numpy().tobytes()) in flat_train for t in test.images[:50, 0, 10:18, 10:18])
    assert overlap < 5  # a handful of identical 8x8 centre crops may occur by chance
    with pytest.raises(ConfigError, match="MNIST split must be 'all', 'train' or 'test', got 'valid'"):
        data.build_mnist(MNISTConfig(split="valid"))


def test_mnist_resize_rgb_unlabelled():
    ds = data.build_mnist(MNISTConfig(size=32, channels=3, labels=False, split="test"))
    assert ds.num_classes is None and len(ds.tensors) == 1
    x = ds[0]
    assert isinstance(x, torch.Tensor) and x.shape == (3, 32, 32)
    assert torch.equal(x[0], x[1]) and x.min() >= -1 and x.max() <= 1


def test_digits():
    ds = data.build_digits(DigitsConfig(size=28))
    assert len(ds) == 1797 and ds.num_classes == 10
    assert ds.images.shape == (1797, 1, 28, 28)
    assert ds.images.min() >= -1 and ds.images.max() <= 1 and ds.images.min() < -0.99
    assert set(ds.labels.tolist()) == set(range(10))


def test_stacked_mnist_labels_match_channels():
    ds = data.build_stacked_mnist(StackedMNISTConfig(num_samples=200, seed=1))
    x, y = ds.tensors
    assert x.shape == (200, 3, 28, 28) and ds.num_classes == 1000
    assert y.min() >= 0 and y.max() < 1000
    mnist_x, mnist_y = data.mnist_arrays("all")
    flat = mnist_x.view(len(mnist_x), -1)
    for i in range(10):
        digits = []
        for c in range(3):
            match = (flat == x[i, c].reshape(1, -1)).all(dim=1).nonzero()[:, 0]
            assert len(match) >= 1
            digits.append(int(mnist_y[match[0]]))
        assert int(y[i]) == 100 * digits[0] + 10 * digits[1] + digits[2]
    # Same seed, same data; another seed, other data.
    again = data.build_stacked_mnist(StackedMNISTConfig(num_samples=200, seed=1))
    other = data.build_stacked_mnist(StackedMNISTConfig(num_samples=200, seed=2))
    assert torch.equal(again.labels, y) and not torch.equal(other.labels, y)


def test_stacked_mnist_covers_modes():
    ds = data.build_stacked_mnist(StackedMNISTConfig(num_samples=10000))
    assert len(torch.unique(ds.labels)) > 990


# --- folder --------------------------------------------------------------------------


def _png(path, size=(40, 30), mode="RGB", color=(200, 10, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


@pytest.fixture
def messy_folder(tmp_path):
    root = tmp_path / "imgs"
    _png(root / "a" / "red.png")                                     # 40x30 RGB
    _png(root / "a" / "deep" / "gray.png", (16, 16), "L", 128)       # nested, gray
    _png(root / "b" / "alpha.png", (20, 20), "RGBA", (0, 0, 255, 0))  # transparent -> white
    Image.new("RGB", (50, 64), (0, 255, 0)).save(root / "b" / "green.JPG", quality=95)
    good = root / "b" / "good_to_truncate.png"
    _png(good, (64, 64))
    arr = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(good)
    (root / "truncated.png").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    good.unlink()
    (root / "empty.png").write_bytes(b"")
    (root / "notes.png").write_text("this is not a PNG\n")
    (root / "readme.txt").write_text("ignored: not an image extension")
    return root


def test_folder_skips_and_counts_bad_files(messy_folder, caplog):
    with caplog.at_level(logging.WARNING, logger="sparring.image"):
        ds = data.build_folder(FolderConfig(path=str(messy_folder), size=16, channels=3))
    assert len(ds) == 4
    assert ds.files_found == 7 and ds.skipped == 3
    skipped_names = sorted(p.split("/")[-1] for p, _ in ds.skipped_reasons)
    assert skipped_names == ["empty.png", "notes.png", "truncated.png"]
    assert "skipped 3 of 7" in caplog.text and "truncated.png" in caplog.text
    x = ds.tensors[0]
    assert x.shape == (4, 3, 16, 16) and x.min() >= -1 and x.max() <= 1
    assert ds.num_classes is None
    # Files are read in sorted order: a/deep/gray.png, a/red.png, b/alpha.png, b/green.JPG.
    assert torch.allclose(x[0], torch.full_like(x[0], 128 / 127.5 - 1), atol=1e-4)
    assert x[1, 0].mean() > 0.5 and x[1, 1].mean() < -0.8  # red
    assert torch.allclose(x[2], torch.ones_like(x[2]))     # transparent on white
    assert x[3, 1].mean() > 0.9 and x[3, 0].mean() < -0.9  # green JPEG


def test_folder_gray_and_labels(messy_folder):
    ds = data.build_folder(FolderConfig(path=str(messy_folder), size=8, channels=1, labels=True))
    assert ds.tensors[0].shape == (4, 1, 8, 8)
    assert ds.num_classes == 2 and ds.classes == ["a", "b"]
    assert ds.labels.tolist() == [0, 0, 1, 1]


def test_folder_centre_crop(tmp_path):
    img = np.zeros((20, 60), np.uint8)
    img[:, 20:40] = 255  # white centre third of a wide image
    Image.fromarray(img).save(tmp_path / "wide.png")
    ds = data.build_folder(FolderConfig(path=str(tmp_path), size=20, channels=1))
    x = ds.images[0, 0]
    assert x.shape == (20, 20) and x.mean() > 0.9  # the crop is the white centre


def test_folder_all_bad_raises(tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "a.png").write_bytes(b"")
    (root / "b.jpg").write_text("nope")
    with pytest.raises(DataError, match="bad") as info:
        data.build_folder(FolderConfig(path=str(root)))
    assert "no readable" in str(info.value) and "2 unreadable" in str(info.value)


def test_folder_empty_and_missing(tmp_path):
    with pytest.raises(DataError, match="no readable"):
        data.build_folder(FolderConfig(path=str(tmp_path)))
    with pytest.raises(DataError, match="does not exist"):
        data.build_folder(FolderConfig(path=str(tmp_path / "nowhere")))
    with pytest.raises(ConfigError, match=r"folder dataset needs a path: --set dataset\.path=FOLDER"):
        data.build_folder(FolderConfig(path=""))
