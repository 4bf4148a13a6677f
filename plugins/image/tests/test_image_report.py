"""`sparring report` of a tiny image run: the image section, and the page in headless Chromium."""
import base64
import io

import pytest
from PIL import Image

from sparring.cli import main
from sparring.testing_browser import Page, assert_report_loads, browser  # noqa: F401 (fixture)

TINY = ["--set", "generator.channels=8", "--set", "generator.latent_dim=16", "--set", "discriminator.channels=8",
        "--set", "trainer.n_samples=16", "--set", "trainer.sample_every=2", "--set", "trainer.progress=false",
        "--set", "trainer.eval_every=-1", "--batch-size", "16", "--steps", "4", "--device", "cpu", "--seed", "0"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("image-report") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARRING_CACHE", str(tmp_path_factory.getbasetemp() / "sparring-cache"))
        assert main(["train", "image", "--out", str(run), *TINY]) == 0
        assert main(["report", str(run)]) == 0
    return run


def test_image_section_shows_each_steps_grid_inline_with_its_size(run):
    page = Page((run / "report.html").read_text())
    grids = [i for i in page.all("img") if i.get("class") == "sample grid"]
    assert [i["alt"] for i in grids] == ["image samples step_0000002.png", "image samples step_0000004.png"]
    for grid in grids:
        assert grid["src"].startswith("data:image/png;base64,") and "pixelated" in grid["style"]
        with Image.open(io.BytesIO(base64.b64decode(grid["src"].split(",", 1)[1]))) as image:
            assert image.size == (4 * 30 + 2, 4 * 30 + 2)  # 16 samples of 28 px
            assert int(grid["width"]) % image.width == 0 and int(grid["width"]) >= 240
    assert "step_0000004.png: 122x122 px, gray" in " ".join(page.text)


def test_image_report_loads_in_chromium(browser, run, tmp_path):
    state = assert_report_loads(browser, run / "report.html", tmp_path / "report-image.png")
    assert len(state["images"]) >= 2
