import numpy as np
import torch
from PIL import Image

from sparring_image.writers import make_grid, write_grid


def test_gray_grid_png(tmp_path):
    x = torch.full((10, 1, 8, 8), -1.0)
    x[0] = 1.0
    paths = write_grid(x, tmp_path / "samples" / "step_0000100")
    assert [p.name for p in paths] == ["step_0000100.png"]
    with Image.open(paths[0]) as img:
        img.load()
        assert img.mode == "L"
        # 10 samples -> 4 per row, 3 rows; 8 px + 2 px padding
        assert img.size == (4 * 10 + 2, 3 * 10 + 2)
        arr = np.asarray(img)
    assert arr[2:10, 2:10].min() == 255        # first sample white
    assert arr[2:10, 12:20].max() == 0         # second sample black
    assert arr[0, :].min() == 255              # padding


def test_rgb_grid_and_dotted_name(tmp_path):
    x = torch.zeros(4, 3, 6, 6)
    x[:, 0] = 1.0
    x[:, 1:] = -1.0
    paths = write_grid(x, tmp_path / "run.v2" / "final")
    assert paths[0].name == "final.png"
    with Image.open(paths[0]) as img:
        assert img.mode == "RGB" and img.size == (2 * 8 + 2, 2 * 8 + 2)
        assert img.getpixel((4, 4)) == (255, 0, 0)


def test_grid_clips_and_handles_nan():
    x = torch.tensor([[[[5.0, float("nan")], [-5.0, 0.0]]]])
    grid = make_grid(x, padding=0)
    assert grid.tolist() == [[255, 0], [0, 128]]
