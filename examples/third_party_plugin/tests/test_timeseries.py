"""What the contract cannot know: the data, the models and the metric mean what they say."""
import numpy as np
import pytest
import torch

from sparring.errors import ConfigError, DataError
from sparring_timeseries.configs import ConvGeneratorConfig, CSVConfig, SinesConfig
from sparring_timeseries.data import build_csv, build_sines
from sparring_timeseries.metrics import spectrum_metrics


def test_sines_stay_in_range_and_have_their_frequencies():
    data = build_sines(SinesConfig(size=512, max_components=1, min_freq=3.0, max_freq=3.0, noise=0.0))
    x = data.tensors[0]
    assert x.shape == (512, 1, 64) and x.abs().max() <= 1.0
    peak = torch.fft.rfft(x[:, 0].double(), dim=-1).abs().argmax(dim=-1)
    assert (peak == 3).all()  # one component at 3 cycles per series


def test_labels_count_the_components():
    data = build_sines(SinesConfig(size=300, labels=True, noise=0.0, max_components=3))
    x, y = data.tensors
    assert data.num_classes == 3 and set(y.tolist()) == {0, 1, 2}
    assert isinstance(data[0][1], int)
    assert build_sines(SinesConfig(size=10)).num_classes is None


def test_bad_frequency_range_names_the_bound():
    with pytest.raises(ConfigError, match="max_freq"):
        build_sines(SinesConfig(max_freq=100.0))


def test_csv_reads_rows_and_rejects_garbage(tmp_path):
    path = tmp_path / "s.csv"
    np.savetxt(path, np.random.default_rng(0).normal(size=(5, 32)) * 7, delimiter=",")
    data = build_csv(CSVConfig(path=str(path)))
    assert data.tensors[0].shape == (5, 1, 32) and data.tensors[0].abs().max() == pytest.approx(1.0)
    path.write_text("1,2,x\n")
    with pytest.raises(DataError):
        build_csv(CSVConfig(path=str(path)))
    with pytest.raises(ConfigError, match="dataset.path"):
        build_csv(CSVConfig(path=""))


def test_spectrum_metric_separates_real_from_noise():
    real = build_sines(SinesConfig(size=400, seed=1)).tensors[0]
    other = build_sines(SinesConfig(size=400, seed=2)).tensors[0]
    noise = torch.rand(400, 1, 64) * 2 - 1
    same = spectrum_metrics(other, real)
    bad = spectrum_metrics(noise, real)
    for key in ("spectrum_l1", "spectrum_fd", "peak_freq_tv"):
        assert same[key] < 0.5 * bad[key], key


def test_length_must_suit_the_generator():
    from sparring.specs import DataInfo
    from sparring_timeseries.models import ConvGenerator

    with pytest.raises(ConfigError, match="divisible"):
        ConvGenerator(ConvGeneratorConfig(blocks=3), DataInfo((1, 60)))
