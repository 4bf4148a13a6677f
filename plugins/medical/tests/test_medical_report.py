"""`sparring report` of a tiny 3-D medical run: NIfTI samples as mid-plane montages, and
the page in headless Chromium; 2-D samples as a grid of slices."""
import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from sparring.config import resolve
from sparring.registry import load_registry
from sparring.report import Assets, write_report
from sparring.testing_browser import Page, assert_report_loads, browser  # noqa: F401 (fixture)
from sparring.train import Trainer
from sparring_medical import report, writers


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("medical-report") / "run"
    raw = {"modality": "medical", "out": str(run), "device": "cpu", "seed": 0,
           "trainer": {"steps": 2, "batch_size": 4, "n_samples": 3, "sample_every": 1, "log_every": 1,
                       "eval_every": -1, "progress": False},
           "generator": {"channels": 4, "latent_dim": 8}, "discriminator": {"channels": 4},
           "dataset": {"name": "phantoms", "dims": 3, "size": 16, "num": 8}}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARRING_CACHE", str(tmp_path_factory.getbasetemp() / "sparring-cache"))
        registry = load_registry()
        Trainer(resolve(raw, registry), registry).train()
        write_report(run, registry=registry)
    return run


def _png(src):
    assert src.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
        return np.asarray(image)


def test_medical_section_shows_three_mid_planes_per_volume(run):
    import nibabel as nib

    page = Page((run / "report.html").read_text())
    montages = [i for i in page.all("img") if i.get("class") == "sample montage"]
    assert [m["alt"] for m in montages] == [f"mid-plane montage of step_000000{s}.nii.gz" for s in (1, 2)]
    for step, m in zip((1, 2), montages):
        picture = _png(m["src"])
        # a row of two volumes, a row of one: three 16-px planes each, 2-px white gaps
        assert picture.shape == (2 * 18 + 2, 6 * 18 + 2) and int(m["width"]) >= 240
        volumes = np.asarray(nib.load(str(run / "samples" / f"step_000000{step}.nii.gz")).dataobj)
        for v in range(3):
            row, col = divmod(3 * v, 6)
            panels = picture[2 + 18 * row:18 + 18 * row, 2 + 18 * col:2 + 18 * col + 3 * 18 - 2]
            expected = (volumes[..., v].mean() + 1) * 127.5  # what G drew, as it drew it
            assert abs(panels[:, [k for k in range(52) if k % 18 < 16]].mean() - expected) < 2
        assert (picture[18 + 18:, 18 * 3:] == 255).all()  # no fourth volume
    words = " ".join(page.text)
    assert "step_0000002.nii.gz: 3 volume(s) of 16x16x16 voxels (1x1x1 mm); per volume the sagittal, " \
           "coronal and axial mid-planes" in words
    assert "samples/step_0000002.nii.gz" in [a["href"] for a in page.all("a")]
    assert "step_0000002.png" not in words  # the writer's PNG montage is replaced, not shown twice


def test_medical_report_loads_in_chromium(browser, run, tmp_path):
    assert_report_loads(browser, run / "report.html", tmp_path / "report-medical.png")


def test_volumes_are_turned_to_ras_before_their_mid_planes_are_cut(tmp_path):
    import nibabel as nib

    ramp = np.broadcast_to(np.linspace(0, 1, 16)[:, None, None], (16, 16, 16))  # rises to the right (R)
    stored = np.stack([ramp[::-1], ramp[::-1] * 0.5], -1).astype(np.float32)  # stored left-to-right
    nib.save(nib.Nifti1Image(stored, np.diag([-2.0, 1, 1, 1])), str(tmp_path / "step_0000003.nii.gz"))
    picture, what = report.nifti_montage(tmp_path / "step_0000003.nii.gz")
    assert what.startswith("2 volume(s) of 16x16x16 voxels (2x1x1 mm)")
    sagittal, coronal, axial = (picture[2:18, 2 + 18 * k:18 + 18 * k].astype(int) for k in range(3))
    assert sagittal.std() < 1 and abs(sagittal.mean() - (8 / 15 + 1) * 127.5) < 1  # the mid-plane across R
    for plane in (coronal, axial):  # R on the right of the picture, as the writer draws it
        assert (np.diff(plane, axis=1) >= 0).all() and plane[:, -1].mean() - plane[:, 0].mean() > 100
    assert picture[2:18, 2 + 54:18 + 54].mean() < sagittal.mean()  # the second volume, at half the intensity


def test_two_dimensional_samples_are_a_grid_of_slices_and_bad_files_a_note(tmp_path):
    samples = torch.linspace(-1, 1, 5 * 12 * 8).reshape(5, 1, 12, 8)
    paths = writers.write_nifti_and_montage(samples, tmp_path / "step_0000007")
    (tmp_path / "step_0000007_bad.nii.gz").write_bytes(b"not a scan")
    page = Page(report.gallery(paths + [tmp_path / "step_0000007_bad.nii.gz"], Assets(tmp_path / "report.html")))
    (montage,) = [i for i in page.all("img") if i.get("class") == "sample montage"]
    # the same grid the writer draws from the tensor: NIfTI keeps each sample where it was
    assert np.array_equal(_png(montage["src"]), writers.montage(samples))
    words = " ".join(page.text)
    assert "step_0000007.nii.gz: 5 slice(s) of 12x8 pixels" in words
    assert "step_0000007_bad.nii.gz: could not be shown" in words
