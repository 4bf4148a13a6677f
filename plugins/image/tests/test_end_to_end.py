"""`sparring train image` through the real CLI with tiny models, then `sparring sample`."""
import json

import pytest
import torch
from PIL import Image

from sparring.cli import main
from sparring_image import metrics

TINY = ["--set", "generator.channels=8", "--set", "generator.latent_dim=16",
        "--set", "discriminator.channels=8", "--set", "trainer.eval_samples=64",
        "--set", "trainer.n_samples=16", "--set", "trainer.progress=false", "--batch-size", "16"]


@pytest.fixture
def tiny_metrics(monkeypatch, tiny_classifier):
    monkeypatch.setattr(metrics, "DEFAULT_CLASSIFIER", tiny_classifier)


def _evals(run):
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["eval"] for r in records if "eval" in r]


def test_train_sample_and_eval(tmp_path, tiny_metrics, capsys):
    run = tmp_path / "run"
    assert main(["train", "image", "--steps", "4", "--out", str(run), "--device", "cpu", *TINY]) == 0
    grid = run / "samples" / "step_0000004.png"
    with Image.open(grid) as img:
        img.load()
        assert img.mode == "L" and img.size == (4 * 30 + 2, 4 * 30 + 2)  # 16 samples of 28 px
    (final,) = _evals(run)
    for key in ("fd", "real/fd", "kid", "precision", "is", "modes", "kl", "classifier_acc"):
        assert key in final, key
    assert final["fd"] > final["real/fd"]  # 4 steps of training are far from the data
    assert "fd" in capsys.readouterr().out  # the table is printed

    out = tmp_path / "again" / "grid"
    assert main(["sample", str(run), "-n", "9", "--out", str(out)]) == 0
    with Image.open(str(out) + ".png") as img:
        assert img.size == (3 * 30 + 2, 3 * 30 + 2)


def test_conditional_with_ada(tmp_path, tiny_metrics):
    run = tmp_path / "cond"
    args = ["train", "image", "--steps", "3", "--out", str(run), "--device", "cpu",
            "--generator", "sngan-cond", "--discriminator", "sngan-cond", "--dataset", "digits",
            "--set", "augment.name=ada", "--set", "augment.interval=1", "--set", "augment.ada_kimg=0.1",
            "--set", "generator.min_channels=4", *TINY]
    assert main(args) == 0
    state = torch.load(sorted((run / "checkpoints").glob("*.pt"))[-1], weights_only=True)
    assert state["augment"]["calls"] == 3
    assert "embed.parametrizations.weight.original" in state["D"]
    assert any("gain" in k for k in state["G"])


def test_folder_dataset_run(tmp_path, tiny_metrics):
    import numpy as np

    folder = tmp_path / "pics"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n")
    run = tmp_path / "folder-run"
    args = ["train", "image", "--steps", "2", "--out", str(run), "--device", "cpu",
            "--dataset", "folder", "--set", f"dataset.path={json.dumps(str(folder))}",
            "--set", "dataset.size=32", "--set", "trainer.pack=2", *TINY]
    assert main(args) == 0
    with Image.open(run / "samples" / "step_0000002.png") as img:
        assert img.mode == "RGB"
    (final,) = _evals(run)
    assert final["num_modes"] == 1000  # RGB images are read as three digit channels


def test_all_bad_folder_is_a_clear_error(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "x.png").write_text("not an image")
    code = main(["train", "image", "--steps", "1", "--out", str(tmp_path / "r"), "--device", "cpu",
                 "--dataset", "folder", "--set", f"dataset.path={json.dumps(str(folder))}"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no readable" in err and str(folder) in err
