"""TensorBoard logging (``sparring train --log tensorboard``): a built-in lifecycle plugin.

Writes to ``RUN_DIR/tensorboard/`` beside the always-written metrics.jsonl:

* scalars on every log step: ``loss/d_loss``, ``loss/g_loss``, ``loss/reg``,
  ``d_output/real``, ``d_output/fake`` (D's mean logit), ``grad_norm/d``, ``grad_norm/g``,
  ``lr/d``, ``lr/g``, ``speed/step_time``, ``speed/samples_per_s``, and ``train/<key>``
  for anything else the loop logs; ``eval/<metric>`` after each evaluation;
* samples in TensorBoard's own kinds, by file type: images (PNG, JPEG), audio (WAV;
  MIDI rendered with pretty_midi when it is installed, else skipped), text (.txt,
  .jsonl), under ``samples/<kind>`` (plus the part of the file name after the step);
* the resolved configuration as text (``config``).

``tensorboard`` is an optional dependency (``pip install tensorboard``); this module
imports it only when a logger is created.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from . import hookimpl
from .errors import SparringError

#: logged key -> TensorBoard tag; keys not named here go under ``train/``.
SCALAR_TAGS = {
    "d_loss": "loss/d_loss", "g_loss": "loss/g_loss", "reg": "loss/reg",
    "d_real": "d_output/real", "d_fake": "d_output/fake",
    "grad_norm_d": "grad_norm/d", "grad_norm_g": "grad_norm/g",
    "lr_d": "lr/d", "lr_g": "lr/g",
    "step_time": "speed/step_time", "samples_per_s": "speed/samples_per_s",
}
MAX_TEXT_LINES = 64
_STEP_PREFIX = re.compile(r"^step_\d+[_.-]?")


def require_tensorboard() -> None:
    """Fail early, with the fix, when the optional ``tensorboard`` package is missing."""
    try:
        found = importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise SparringError("--log tensorboard needs the 'tensorboard' package, which is not installed: "
                            "pip install tensorboard  (or: pip install 'sparring[tensorboard]')")


def sample_tag(path: Path, kind: str) -> str:
    """``samples/<kind>`` plus what the file name adds after ``step_NNNNNNN``."""
    rest = _STEP_PREFIX.sub("", Path(path).name.split(".")[0])
    return f"samples/{kind}" + (f"/{rest}" if rest else "")


class TensorBoardLogger:
    """Lifecycle plugin that mirrors a run's logs and samples into TensorBoard event files."""

    def __init__(self, log_dir: str | Path | None = None):
        require_tensorboard()
        self.log_dir = Path(log_dir) if log_dir else None
        self.writer = None
        self._warned: set[str] = set()

    # --- lifecycle hooks ---------------------------------------------------------------

    @hookimpl
    def sparring_train_start(self, trainer):
        from torch.utils.tensorboard import SummaryWriter

        from .config import to_toml

        self.log_dir = self.log_dir or Path(trainer.run_dir) / "tensorboard"
        # On resume, drop events a killed run wrote after its checkpoint: they are redone.
        # TensorBoard purges steps >= purge_step; the checkpoint's own step stays.
        self.writer = SummaryWriter(str(self.log_dir), purge_step=trainer.step + 1 if trainer.step else None)
        config = to_toml(trainer.config.to_dict())
        self.writer.add_text("config", "\n".join("    " + line for line in config.splitlines()), trainer.step)

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        t = trainer.config.trainer
        if self.writer is None or not (step % t.log_every == 0 or step == t.steps):
            return  # off log steps ``logs`` holds unsynchronised tensors: leave them alone
        for key, value in logs.items():
            if key == "step" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            self.writer.add_scalar(SCALAR_TAGS.get(key, f"train/{key}"), value, step)

    @hookimpl
    def sparring_eval_end(self, trainer, step, metrics):
        if self.writer is None:
            return
        for key, value in metrics.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(f"eval/{key}", value, step)
        self.writer.flush()

    @hookimpl
    def sparring_samples_written(self, trainer, step, paths):
        if self.writer is None:
            return
        for path in map(Path, paths):
            try:
                self.add_sample(path, step)
            except Exception as exc:  # a sample TensorBoard cannot show must not stop training
                self._warn(f"{path.name}: {type(exc).__name__}: {exc}")
        self.writer.flush()

    @hookimpl
    def sparring_train_end(self, trainer):
        self.close()

    @hookimpl
    def sparring_exception(self, trainer, error):
        self.close()

    # --- samples -----------------------------------------------------------------------

    def add_sample(self, path: Path, step: int) -> bool:
        """Write one sample file in TensorBoard's kind for it; False when it has none."""
        from .report import AUDIO_RATE, read_wav, render_midi, sample_kind

        kind = sample_kind(path)
        suffix = path.suffix.lower()
        if kind == "image" and suffix != ".svg":
            import numpy as np
            from PIL import Image

            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            self.writer.add_image(sample_tag(path, "image"), pixels, step, dataformats="HWC")
        elif kind == "audio" and suffix == ".wav":
            samples, rate = read_wav(path)
            self._add_audio(sample_tag(path, "audio"), samples, step, rate)
        elif kind == "midi":
            rendered = render_midi(path)
            if rendered is None:
                self._warn("MIDI samples are skipped: install pretty_midi to hear them in TensorBoard")
                return False
            self._add_audio(sample_tag(path, "audio"), rendered[0], step, AUDIO_RATE)
        elif kind == "text" and suffix in (".txt", ".jsonl"):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            shown = lines[:MAX_TEXT_LINES]
            text = "\n".join("    " + line for line in shown)  # markdown code block: kept verbatim
            if len(lines) > len(shown):
                text += f"\n\n({len(shown)} of {len(lines)} lines)"
            self.writer.add_text(sample_tag(path, "text"), text, step)
        else:
            self._warn(f"samples of type '{suffix or path.name}' have no TensorBoard kind; skipped")
            return False
        return True

    def _add_audio(self, tag: str, samples, step: int, rate: int) -> None:
        import numpy as np
        import torch

        clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
        self.writer.add_audio(tag, torch.from_numpy(clipped)[None], step, sample_rate=rate)

    def _warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            print(f"sparring: tensorboard: {message}", file=sys.stderr)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def register_tensorboard(registry, log_dir: str | Path | None = None) -> TensorBoardLogger:
    """Create a logger and register it on ``registry`` (before the Trainer is built)."""
    logger = TensorBoardLogger(log_dir)
    if not registry.add_plugin(logger, "tensorboard", "sparring"):
        info = registry.plugins["tensorboard"]
        raise SparringError(f"the TensorBoard logger could not be registered: {info.error or 'disabled'}")
    return logger
