"""The medical plugin passes the contract every plugin runs on itself (sparring.testing)."""
import inspect

from sparring.testing import contract_test


def _scan_folder(tmp_path):
    """The 'scan-folder' dataset reads files: write two small NIfTI volumes for it."""
    import nibabel as nib
    import numpy as np

    root = tmp_path / "scans"
    root.mkdir(parents=True, exist_ok=True)
    for i in range(2):
        grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, 16)] * 3, indexing="ij"))
        volume = np.where((grid ** 2).sum(0) < 0.5, 500.0 + 50 * np.random.default_rng(i).random((16, 16, 16)), 0.0)
        nib.save(nib.Nifti1Image(volume.astype(np.float32), np.eye(4)), str(root / f"scan{i}.nii.gz"))
    return {"path": str(root), "size": [16, 16]}


PHANTOMS_64 = {"name": "phantoms", "num": 16, "size": 64}
OVERRIDES = {
    "generator:medical-dcgan": {"latent_dim": 8, "channels": 4, "max_channels": 8},
    "discriminator:medical-dcgan": {"channels": 4, "max_channels": 8},
    "generator:monai-generator": {"latent_dim": 8, "channels": [8, 4]},
    "discriminator:monai-discriminator": {"channels": [4, 8]},
    "discriminator:monai-critic": {"channels": [4, 8]},
    "discriminator:monai-patch": {"channels": 4, "num_layers": 2},
    "discriminator:monai-multiscale-patch": {"channels": 4},
    "dataset:mni152": {"size": [32, 32]},
    "dataset:phantoms": {"num": 16, "size": 32},
    "dataset:scan-folder": _scan_folder,
}
if "data" in inspect.signature(contract_test).parameters:
    # The multi-scale patch discriminator's defaults need at least 64 pixels a side.
    EXTRA = {"data": {"discriminator:monai-multiscale-patch": PHANTOMS_64}}
else:  # a kit without per-case data: a shallower multi-scale discriminator fits 32 pixels
    OVERRIDES["discriminator:monai-multiscale-patch"] = {"channels": 4, "num_layers": 1}
    EXTRA = {}

test_medical_contract = contract_test(
    "medical",
    overrides=OVERRIDES,
    skip={"metric:ae-features": "trains its autoencoder feature network (about a minute on a CPU); "
                                "test_medical_metrics.py checks it with a tiny one"},
    **EXTRA,
)
