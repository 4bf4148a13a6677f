"""A user's folder of NIfTI scans trains with one command; sample and eval read the run."""
from __future__ import annotations

import json

import nibabel as nib

from sparring.cli import main

TINY = ["--set", "generator.channels=4", "--set", "generator.latent_dim=8",
        "--set", "discriminator.channels=4", "--set", "trainer.progress=false",
        "--set", 'metrics=["intensity-hist", "ms-ssim"]', "--set", "trainer.eval_samples=8"]


def test_train_sample_eval_on_a_nifti_folder(nifti_folder, tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "medical", "--dataset", "scan-folder", "--set", f"dataset.path={nifti_folder}",
                 "--set", "dataset.size=[16]", "--steps", "2", "--batch-size", "4", "--out", str(run), *TINY])
    assert code == 0
    captured = capsys.readouterr()
    assert "hist_w1" in captured.out and "medical-dcgan vs medical-dcgan on scan-folder" in captured.err
    volume = nib.load(str(run / "samples" / "step_0000002.nii.gz"))
    assert volume.shape[:2] == (16, 16) and nib.aff2axcodes(volume.affine) == ("R", "A", "S")
    assert (run / "samples" / "step_0000002.png").is_file()

    assert main(["sample", str(run), "-n", "3", "--out", str(tmp_path / "more")]) == 0
    assert nib.load(str(tmp_path / "more.nii.gz")).shape == (16, 16, 3)

    assert main(["eval", str(run), "-n", "4"]) == 0
    table = capsys.readouterr().out
    assert "real vs real" in table and "ms_ssim" in table
    results = json.loads((run / "eval.json").read_text())["metrics"]
    assert {"hist_w1", "real/hist_w1", "ms_ssim", "real/ms_ssim"} <= set(results)


def test_an_unreadable_folder_is_one_clear_message(tmp_path, capsys):
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "x.nii.gz").write_bytes(b"junk")
    code = main(["train", "medical", "--dataset", "scan-folder", "--set", f"dataset.path={tmp_path / 'scans'}",
                 "--steps", "1", "--out", str(tmp_path / "run"), *TINY])
    assert code == 2
    err = capsys.readouterr().err
    assert "sparring: error: scan folder" in err and "x.nii.gz" in err and "Traceback" not in err
