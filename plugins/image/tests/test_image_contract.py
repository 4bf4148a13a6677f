"""The image plugin passes the contract every plugin runs on itself (sparring.testing)."""
from sparring.testing import contract_test

TINY_G = {"channels": 8, "latent_dim": 8}
TINY_SNGAN_G = {"channels": 8, "latent_dim": 8, "min_channels": 4}


def _image_folder(tmp_path):
    """The 'folder' dataset reads files: write a few small PNGs in two class folders."""
    import numpy as np
    from PIL import Image

    root = tmp_path / "images"
    for label in ("a", "b"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            pixels = np.random.default_rng(i).integers(0, 255, (20, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return {"path": str(root), "size": 16, "labels": True}


CLASSIFIER = ("trains the MNIST feature CNN with its default size (minutes on a CPU); "
              "test_metrics.py checks it with a tiny classifier")

test_image_contract = contract_test(
    "image",
    overrides={
        "generator:dcgan": TINY_G, "generator:dcgan-cond": TINY_G,
        "generator:sngan": TINY_SNGAN_G, "generator:sngan-cond": TINY_SNGAN_G,
        "discriminator:dcgan": {"channels": 8}, "discriminator:dcgan-cond": {"channels": 8},
        "discriminator:sngan": {"channels": 8}, "discriminator:sngan-cond": {"channels": 8},
        "dataset:stacked-mnist": {"num_samples": 64},
        "dataset:folder": _image_folder,
    },
    skip={"metric:cnn-features": CLASSIFIER, "metric:digit-modes": CLASSIFIER},
)
