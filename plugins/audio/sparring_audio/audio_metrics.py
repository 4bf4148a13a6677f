"""Audio metrics: log-mel statistics for any sound, and a spoken-digit classifier.

``mel-fd``: the Frechet distance between Gaussians fitted to each clip's per-band mean
and standard deviation of its 64-band log-mel spectrogram (no learned model; works for
chorale audio, digits or a user's folder).

``digit-score``: the WaveGAN paper's protocol with our own classifier instead of theirs:
a small CNN on log-mel features, trained once on the spoken digits (every tenth clip
held out; its held-out accuracy is reported as ``classifier_acc``) and cached under
``${SPARRING_CACHE:-~/.cache/sparring}/audio/``. ``digit_is`` is the Inception-style score
``exp(E_x KL(p(y|x) || p(y)))`` (1..10) and ``digit_fd`` the Frechet distance on its
penultimate features. SpecGAN spectrograms are inverted with Griffin-Lim first. The score
splits exactly into ``digit_classes / digit_doubt`` (see ``inception_parts``), which says
whether a low score is missing digits or unclear ones; ``digit_breakdown`` says which
(each digit's share of the clips and how clear they are).
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import time

import torch
from torch import nn
from torch.nn import functional as F

from .configs import DigitClassifierConfig

log = logging.getLogger("sparring.audio")

N_MELS = 64
_LOADED: dict = {}


def log_mel(waves: torch.Tensor, sample_rate: int = 16000, batch: int = 256) -> torch.Tensor:
    """(N, 1, L) -> (N, 64, frames) natural-log mel energies (n_fft 1024, hop 256)."""
    import torchaudio

    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=1024, hop_length=256, n_mels=N_MELS)
    x = waves.reshape(waves.shape[0], -1).float()
    return torch.cat([torch.log(mel(x[i:i + batch]) + 1e-6) for i in range(0, len(x), batch)])


def _waves(x, dataset):
    from .spectral import as_waveforms

    return as_waveforms(torch.as_tensor(x).float(), dataset)


def mel_statistics(waves: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
    m = log_mel(waves, sample_rate)
    return torch.cat([m.mean(-1), m.std(-1)], dim=1)


def mel_metrics(generated, real, dataset=None) -> dict:
    from sparring.metrics.frechet import frechet_distance_from_features

    rate = getattr(dataset, "sample_rate", 16000)
    g = mel_statistics(_waves(generated, dataset), rate)
    r = mel_statistics(_waves(real, dataset), rate)
    return {"mel_fd": frechet_distance_from_features(g, r)}


# --- the digit classifier --------------------------------------------------------------


class DigitCNN(nn.Module):
    """Three conv-BN-ReLU-pool blocks on standardised log-mel, average pooling over time
    only (which bands sound is what tells digits apart), a ``feature_dim`` ReLU layer
    (the features) and a 10-way head."""

    def __init__(self, width: int = 32, feature_dim: int = 128, num_classes: int = 10):
        super().__init__()
        w = width
        blocks, cin = [], 1
        for cout in (w, 2 * w, 4 * w):
            blocks += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
            cin = cout
        self.body = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d((N_MELS // 8, 1)), nn.Flatten(),
                                  nn.Linear(cin * (N_MELS // 8), feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, num_classes)
        self.register_buffer("mel_mean", torch.zeros(()))
        self.register_buffer("mel_std", torch.ones(()))

    def features(self, mel):
        return self.body(((mel - self.mel_mean) / self.mel_std).unsqueeze(1))

    def forward(self, mel):
        return self.head(self.features(mel))


def _cache_file(cfg: DigitClassifierConfig, data_tag: str):
    from .pianoroll import cache_root

    tag = "-".join(f"{k}{v}" for k, v in sorted(dataclasses.asdict(cfg).items()))
    return cache_root() / f"digit-cnn-{tag}-{data_tag}.pt"


def _train(cfg: DigitClassifierConfig, mels: torch.Tensor, labels: torch.Tensor) -> tuple[DigitCNN, float]:
    test = torch.arange(len(mels)) % 10 == 0
    x_train, y_train, x_test, y_test = mels[~test], labels[~test], mels[test], labels[test]
    start = time.time()
    # Our own RNG stream: training in the middle of a GAN run leaves the run's RNG alone.
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(cfg.seed)
        model = DigitCNN(cfg.width, cfg.feature_dim)
        model.mel_mean.fill_(float(x_train.mean()))
        model.mel_std.fill_(float(x_train.std()))
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        steps = math.ceil(len(x_train) / cfg.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=max(1, cfg.epochs * steps))
        model.train()
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(x_train))
            for i in range(steps):
                idx = perm[i * cfg.batch_size:(i + 1) * cfg.batch_size]
                xb = x_train[idx]
                # Time shifts: the word sits anywhere in the clip, generated ones too.
                xb = torch.roll(xb, int(torch.randint(-8, 9, ())), dims=-1)
                loss = F.cross_entropy(model(xb), y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    model.eval()
    with torch.no_grad():
        acc = float((model(x_test).argmax(1) == y_test).float().mean())
    log.warning("trained the spoken-digit classifier in %.0fs: held-out accuracy %.4f on %d clips",
                time.time() - start, acc, len(x_test))
    return model, acc


def load_classifier(cfg: DigitClassifierConfig | None = None, path=None) -> tuple[DigitCNN, float]:
    """The cached digit classifier and its held-out accuracy; trained on first use."""
    from . import spoken_digits
    from .audio_data import fingerprint

    cfg = cfg or DigitClassifierConfig()
    data_path = path or spoken_digits.default_path()
    if not data_path.is_file():
        from sparring.errors import DataError

        raise DataError(f"the digit-score metric needs the spoken digits at '{data_path}': build them "
                        "with `python scripts/build_spoken_digits.py` (needs espeak-ng)")
    clips, labels = spoken_digits.load(data_path)
    clips = torch.from_numpy(clips)
    tag = fingerprint(clips[::97])
    cache = _cache_file(cfg, tag)
    key = (tuple(sorted(dataclasses.asdict(cfg).items())), str(cache))
    if key in _LOADED:
        return _LOADED[key]
    model = None
    if cache.is_file():
        try:
            state = torch.load(cache, map_location="cpu", weights_only=True)
            with torch.random.fork_rng(devices=[]):
                model = DigitCNN(cfg.width, cfg.feature_dim)
            model.load_state_dict(state["state_dict"])
            model.eval()
            acc = float(state["test_accuracy"])
        except Exception as exc:  # corrupt or stale cache: train again
            log.warning("ignoring unreadable classifier cache %s: %s", cache, exc)
            model = None
    if model is None:
        model, acc = _train(cfg, log_mel(clips.unsqueeze(1)), torch.from_numpy(labels).long())
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.tmp{os.getpid()}")  # two runs may train it at once
        torch.save({"state_dict": model.state_dict(), "test_accuracy": acc}, tmp)
        tmp.replace(cache)
    _LOADED[key] = (model, acc)
    return model, acc


def inception_score(probs: torch.Tensor) -> float:
    """exp(E KL(p(y|x) || p(y))) for rows of class probabilities: classes over doubt."""
    classes, doubt = inception_parts(probs)
    return classes / doubt


def inception_parts(probs: torch.Tensor) -> tuple[float, float]:
    """(classes, doubt) with score = classes / doubt: exp of the entropy of the mean class
    distribution (how many classes the set covers, 1..10) and exp of the mean per-sample
    entropy (how many classes each sample could be, 1 = every sample is clear)."""
    probs = probs.double().clamp_min(1e-12)
    marginal = probs.mean(0)
    classes = torch.exp(-(marginal * marginal.log()).sum())
    doubt = torch.exp(-(probs * probs.log()).sum(1).mean())
    return float(classes), float(doubt)


@torch.no_grad()
def classify(model: DigitCNN, waves: torch.Tensor, sample_rate: int = 16000) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, class probabilities) of waveforms."""
    mel = log_mel(waves, sample_rate)
    feats = torch.cat([model.features(mel[i:i + 256]) for i in range(0, len(mel), 256)])
    return feats, F.softmax(model.head(feats), dim=1)


def class_breakdown(probs: torch.Tensor) -> dict:
    """Per class: the share of samples whose most likely class it is, and those samples' mean
    top probability (how clear they are; nan where no sample falls in the class)."""
    top, label = probs.max(1)
    n = probs.shape[1]
    counts = torch.bincount(label, minlength=n).double()
    sums = torch.zeros(n, dtype=torch.float64).index_add_(0, label, top.double())
    confidence = torch.where(counts > 0, sums / counts.clamp_min(1), torch.full_like(sums, float("nan")))
    return {"shares": (counts / len(label)).tolist(), "confidence": confidence.tolist()}


def digit_breakdown(waves, dataset=None, cfg: DigitClassifierConfig | None = None) -> dict:
    """Which digits a set of clips says, by the cached classifier: `class_breakdown` of its output."""
    model, _ = load_classifier(cfg)
    _, probs = classify(model, _waves(waves, dataset), getattr(dataset, "sample_rate", 16000))
    return class_breakdown(probs)


def digit_agreement(waves, labels, dataset=None, cfg: DigitClassifierConfig | None = None) -> dict:
    """For a class-conditional generator: the share of clips the classifier hears as the
    digit they were asked for, overall and digit by digit (nan for a digit not asked)."""
    model, _ = load_classifier(cfg)
    _, probs = classify(model, _waves(waves, dataset), getattr(dataset, "sample_rate", 16000))
    labels = torch.as_tensor(labels).reshape(-1).long()
    if len(labels) != len(probs):
        raise ValueError(f"{len(labels)} labels for {len(probs)} clips")
    hit = (probs.argmax(1) == labels).double()
    n = probs.shape[1]
    asked = torch.bincount(labels, minlength=n).double()
    hits = torch.zeros(n, dtype=torch.float64).index_add_(0, labels, hit)
    per = torch.where(asked > 0, hits / asked.clamp_min(1), torch.full_like(hits, float("nan")))
    return {"agreement": float(hit.mean()), "by_digit": per.tolist()}


def digit_metrics(generated, real, dataset=None, cfg: DigitClassifierConfig | None = None) -> dict:
    from sparring.metrics.frechet import frechet_distance_from_features

    model, acc = load_classifier(cfg)
    rate = getattr(dataset, "sample_rate", 16000)
    g_feat, g_prob = classify(model, _waves(generated, dataset), rate)
    r_feat, _ = classify(model, _waves(real, dataset), rate)
    classes, doubt = inception_parts(g_prob)
    return {"digit_is": classes / doubt, "digit_fd": frechet_distance_from_features(g_feat, r_feat),
            "digit_classes": classes, "digit_doubt": doubt, "classifier_acc": acc}
