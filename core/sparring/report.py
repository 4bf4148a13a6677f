"""``sparring report RUN_DIR``: one HTML page that shows a run, readable offline.

The page holds the run's configuration, its loss and metric curves (matplotlib PNGs),
the sample gallery over training steps and the final evaluation beside real-vs-real.
Every asset is inlined as a data URI (one file to keep or mail), or, with
``inline=False``, copied into ``RUN_DIR/report_assets/``. A Content-Security-Policy
forbids the page to load anything from the network, and it runs no script.

Each shown sample step goes through the ``sparring_report_gallery`` hook, so a plugin
renders its own modality (piano rolls, slice montages); when every plugin passes,
:func:`default_gallery` shows images, WAV players with spectrograms, MIDI (rendered to
audio when pretty_midi is installed) and text samples.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import mimetypes
import os
import re
import shutil
import sys
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SparringError

IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                  ".webp": "image/webp", ".svg": "image/svg+xml"}
AUDIO_SUFFIXES = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
TEXT_SUFFIXES = {".txt", ".jsonl", ".json", ".csv"}
MIDI_SUFFIXES = {".mid", ".midi"}
SAMPLE_FILE = re.compile(r"^step_(\d+)")
MAX_TEXT_ROWS = 20
AUDIO_RATE = 16_000  # MIDI is rendered at this rate: small data URIs, speech-band quality

# The page loads nothing from the network and runs no script.
CSP = ("default-src 'none'; img-src data: 'self'; media-src data: 'self'; "
       "style-src 'unsafe-inline'; script-src 'none'")


def sample_kind(path: Path) -> str:
    """'image', 'audio', 'midi', 'text' or 'other', from the file's suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if suffix in MIDI_SUFFIXES:
        return "midi"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return "other"


class Assets:
    """Turns files and bytes into URLs that work offline.

    Inline (the default): ``data:`` URIs, so report.html is one self-contained file.
    Otherwise files are written to ``report_assets/`` beside the page and linked
    relatively, which keeps the page small for long audio galleries.
    """

    def __init__(self, report_path: Path, inline: bool = True):
        self.report_dir = Path(report_path).parent
        self.inline = inline
        self.folder = self.report_dir / "report_assets"
        self._count = 0

    def url(self, data, mime: str | None = None, name: str | None = None) -> str:
        """A URL for a file path or for ``bytes`` (then give ``mime`` and ideally ``name``)."""
        if isinstance(data, (str, os.PathLike)):
            path = Path(data)
            mime = mime or IMAGE_SUFFIXES.get(path.suffix.lower()) or AUDIO_SUFFIXES.get(path.suffix.lower()) \
                or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            name = name or path.name
            payload = path.read_bytes()
        else:
            payload = bytes(data)
            mime = mime or "application/octet-stream"
        if self.inline:
            return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"
        self._count += 1  # numbered: samples of different steps often share a name
        suffix = (Path(name).suffix if name else "") or mimetypes.guess_extension(mime) or ""
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem if name else "asset")
        target = self.folder / f"{self._count:04d}_{stem}{suffix}"
        self.folder.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        return target.relative_to(self.report_dir).as_posix()

    def link(self, path: Path) -> str:
        """A relative link to a file of the run (not copied, not inlined)."""
        return Path(os.path.relpath(path, self.report_dir)).as_posix()


# --- reading a run ------------------------------------------------------------------------


@dataclass
class RunLog:
    """What a run folder says about itself."""

    run_dir: Path
    config_text: str = ""
    config: dict = field(default_factory=dict)
    train: list[dict] = field(default_factory=list)
    pretrain: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    eval_json: dict | None = None
    bad_lines: int = 0


def read_run(run_dir: Path) -> RunLog:
    """Parse config.toml, metrics.jsonl and eval.json of a run folder."""
    from .config import read_toml

    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise SparringError(f"'{run_dir}' is not a run folder (no config.toml in it)")
    log = RunLog(run_dir, config_text=(run_dir / "config.toml").read_text(encoding="utf-8"))
    log.config = read_toml(run_dir / "config.toml")
    metrics = run_dir / "metrics.jsonl"
    if metrics.is_file():
        for line in metrics.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                log.bad_lines += 1  # e.g. a line cut short when a run was killed
                continue
            if not isinstance(record, dict):
                continue
            if "eval" in record:
                log.evals.append(record)
            elif record.get("phase") == "pretrain":
                log.pretrain.append(record)
            elif "step" in record:
                log.train.append(record)
    if (run_dir / "eval.json").is_file():
        try:
            log.eval_json = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            log.eval_json = None
    return log


def sample_steps(run_dir: Path) -> dict[int, list[Path]]:
    """Files in samples/ written during training (``step_NNNNNNN*``), by step."""
    steps: dict[int, list[Path]] = {}
    folder = Path(run_dir) / "samples"
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            match = SAMPLE_FILE.match(path.name)
            if match and path.is_file():
                steps.setdefault(int(match.group(1)), []).append(path)
    return dict(sorted(steps.items()))


def pick_steps(steps: list[int], limit: int) -> list[int]:
    """At most ``limit`` steps, evenly spread, always the first and the last."""
    if limit <= 0 or len(steps) <= limit:
        return list(steps)
    if limit == 1:
        return [steps[-1]]
    index = sorted({round(i * (len(steps) - 1) / (limit - 1)) for i in range(limit)})
    return [steps[i] for i in index]


# --- sample files ---------------------------------------------------------------------------


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A WAV file as mono float32 in [-1, 1] and its sample rate.

    soundfile reads every WAV flavour when it is installed; the standard library's
    ``wave`` covers the integer PCM files that writers produce by default.
    """
    try:
        import soundfile
    except ImportError:
        soundfile = None
    if soundfile is not None:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        return data.mean(axis=1), int(rate)
    with wave.open(str(path), "rb") as fh:
        width, channels, rate = fh.getsampwidth(), fh.getnchannels(), fh.getframerate()
        raw = fh.readframes(fh.getnframes())
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 2**15
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((b[:, 0] | b[:, 1] << 8 | b[:, 2] << 16) << 8 >> 8).astype(np.float32) / 2**23
    else:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2**31
    return data.reshape(-1, channels).mean(axis=1), rate


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Mono float samples as a 16-bit PCM WAV file in memory."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    scaled = samples / peak * 0.9 if peak > 1 else samples
    pcm = (np.clip(scaled, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(pcm.tobytes())
    return buffer.getvalue()


def render_midi(path: Path, rate: int = AUDIO_RATE):
    """The MIDI file as (audio samples, piano roll) with pretty_midi, or None without it."""
    try:
        import pretty_midi
    except ImportError:
        return None
    midi = pretty_midi.PrettyMIDI(str(path))
    audio = midi.synthesize(fs=rate).astype(np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return (audio / peak * 0.9 if peak > 0 else audio), midi.get_piano_roll(fs=20)


def _figure(width=4.2, height=2.6):
    # Figure + Agg canvas directly: no pyplot, so a user's matplotlib backend is left alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def spectrogram_png(samples: np.ndarray, rate: int) -> bytes:
    """A log-power spectrogram picture of mono audio."""
    from scipy.signal import spectrogram

    n = min(512, max(16, len(samples)))
    freqs, times, power = spectrogram(samples, fs=rate, nperseg=n, noverlap=n * 3 // 4)
    fig = _figure(4.2, 1.8)
    ax = fig.add_subplot()
    if power.size:
        ax.pcolormesh(times, freqs, 10 * np.log10(power + 1e-10), shading="auto", cmap="magma")
    ax.set_xlabel("s")
    ax.set_ylabel("Hz")
    return _png(fig)


def piano_roll_png(roll: np.ndarray) -> bytes:
    """A piano roll (pitch x time frames at 20 per second) as a picture."""
    fig = _figure(4.2, 1.8)
    ax = fig.add_subplot()
    pitches = np.flatnonzero(roll.sum(axis=1)) if roll.size else np.array([])
    low, high = (int(pitches.min()), int(pitches.max()) + 1) if pitches.size else (0, 128)
    # vmin/vmax: a roll with every cell on (an untrained generator's) is black, not blank.
    ax.imshow(roll[low:high] > 0, aspect="auto", origin="lower", cmap="Greys", interpolation="nearest", vmin=0, vmax=1,
              extent=(0, roll.shape[1] / 20 if roll.size else 1, low, high))
    ax.set_xlabel("s")
    ax.set_ylabel("pitch")
    return _png(fig)


def _text_rows(path: Path) -> tuple[list[str], int]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if path.suffix.lower() == ".json":
        return [path.read_text(encoding="utf-8", errors="replace")[:4000]], 1
    rows = []
    for line in lines[:MAX_TEXT_ROWS]:
        if path.suffix.lower() == ".jsonl":
            try:
                value = json.loads(line)
                if isinstance(value, dict):
                    value = value.get("text", value.get("sample", value))
                line = value if isinstance(value, str) else json.dumps(value)
            except json.JSONDecodeError:
                pass
        rows.append(line)
    return rows, len(lines)


def _image_size_attrs(source, least: int = 240, most: int = 360) -> str:
    """Small grids scaled up by a whole factor with crisp pixels, large ones down to ``most``."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            width = image.width
    except Exception:
        return ""
    if width < least:
        return f' width="{width * math.ceil(least / width)}" style="image-rendering:pixelated"'
    return f' width="{min(width, most)}"'


# --- building blocks for plugin galleries (and the default one) ------------------------------

#: Players a plugin's gallery shows per step; further files are listed as links.
MAX_PLAYERS = 4


def png_bytes(array: np.ndarray) -> bytes:
    """A uint8 (H, W) gray or (H, W, 3) RGB array as PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def img(assets: Assets, source, alt: str, name: str | None = None, cls: str = "sample", most: int = 360) -> str:
    """An ``<img>`` of a file or of PNG bytes, small pictures scaled up with crisp pixels."""
    url = assets.url(source, None if isinstance(source, (str, os.PathLike)) else "image/png", name)
    return f'<img class="{cls}"{_image_size_attrs(source, most=most)} src="{url}" alt="{html.escape(alt)}">'


def player(assets: Assets, source, name: str | None = None) -> str:
    """An ``<audio>`` player of a file or of WAV bytes."""
    url = assets.url(source, None if isinstance(source, (str, os.PathLike)) else "audio/wav", name)
    return f'<audio controls preload="metadata" src="{url}"></audio>'


def figure(body: str, caption: str) -> str:
    """``body`` with a caption (plain text: it is escaped here)."""
    return f"<figure>{body}<figcaption>{html.escape(caption)}</figcaption></figure>"


def links(paths, assets: Assets, label: str) -> str:
    """A note linking run files that are not shown (e.g. players beyond :data:`MAX_PLAYERS`)."""
    paths = list(paths)
    if not paths:
        return ""
    items = ", ".join(f'<a href="{assets.link(p)}">{html.escape(Path(p).name)}</a>' for p in paths)
    return f'<p class="note">{html.escape(label)}: {items}</p>'


def could_not_show(path: Path, exc: Exception) -> str:
    """The note that stands in for one file that failed to render."""
    return (f'<p class="note">{html.escape(Path(path).name)}: could not be shown '
            f"({html.escape(type(exc).__name__)}: {html.escape(str(exc))})</p>")


def default_gallery(paths, assets: Assets) -> str:
    """HTML showing sample files by type: images, audio players, MIDI, text, links."""
    parts = []
    order = ("image", "audio", "midi", "text", "other")
    for path in sorted(map(Path, paths), key=lambda p: (order.index(sample_kind(p)), p.name)):
        kind = sample_kind(path)
        label = html.escape(path.name)
        try:
            if kind == "image":
                parts.append(figure(img(assets, path, path.name), path.name))
            elif kind == "audio":
                spectrum = ""
                if path.suffix.lower() == ".wav":
                    samples, rate = read_wav(path)
                    spectrum = img(assets, spectrogram_png(samples, rate), f"spectrogram of {path.name}",
                                   path.stem + "_spec.png", cls="spectrogram", most=420)
                parts.append(figure(player(assets, path) + spectrum, path.name))
            elif kind == "midi":
                rendered = render_midi(path)
                if rendered is None:
                    parts.append(f'<p class="note"><a href="{assets.link(path)}">{label}</a>: MIDI '
                                 "(install pretty_midi to hear it here)</p>")
                else:
                    audio, roll = rendered
                    parts.append(figure(
                        player(assets, wav_bytes(audio, AUDIO_RATE), path.stem + ".wav")
                        + img(assets, piano_roll_png(roll), f"piano roll of {path.name}", path.stem + "_roll.png",
                              cls="spectrogram", most=420), f"{path.name} (sine-rendered)"))
            elif kind == "text":
                rows, total = _text_rows(path)
                body = "".join(f"<tr><td>{i}</td><td>{html.escape(r)}</td></tr>" for i, r in enumerate(rows))
                more = f"<caption>{label}: {len(rows)} of {total}</caption>" if total > len(rows) else \
                    f"<caption>{label}</caption>"
                parts.append(f'<table class="text">{more}{body}</table>')
            else:
                size = path.stat().st_size
                parts.append(f'<p class="note"><a href="{assets.link(path)}">{label}</a> ({size / 1024:.1f} KiB)</p>')
        except Exception as exc:  # one unreadable file must not sink the report
            parts.append(could_not_show(path, exc))
    return "\n".join(parts)


# --- curves ---------------------------------------------------------------------------------

#: (title, keys, y scale): the panels of the training curves, in order.
PANELS = (
    ("Losses", ("d_loss", "g_loss", "reg"), "linear"),
    ("D's mean logit on real and fake", ("d_real", "d_fake"), "linear"),
    ("Gradient norms", ("grad_norm_d", "grad_norm_g"), "log"),
    ("Learning rates", ("lr_d", "lr_g"), "linear"),
    ("Seconds per step", ("step_time",), "linear"),
)
NOT_PLOTTED = {"step", "samples_per_s", "phase", "skipped_steps"}


def _series(records: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    steps, values = [], []
    for r in records:
        if key in r and isinstance(r.get("step"), (int, float)):
            v = r[key]
            steps.append(r["step"])
            values.append(float(v) if isinstance(v, (int, float)) else math.nan)  # null: non-finite
    return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)


def _plot(title: str, lines: list[tuple[str, np.ndarray, np.ndarray]], scale: str = "linear",
          references: dict[str, float] | None = None) -> bytes:
    fig = _figure()
    ax = fig.add_subplot()
    for name, x, y in lines:
        ax.plot(x, y, label=name, marker="o" if len(x) < 20 else None, markersize=3, linewidth=1.2)
    for name, value in (references or {}).items():
        ax.axhline(value, linestyle="--", color="grey", linewidth=1, label=name)
    finite = np.concatenate([y[np.isfinite(y)] for _, _, y in lines]) if lines else np.array([])
    if scale == "log" and finite.size and (finite > 0).all():
        ax.set_yscale("log")
    if not finite.size:  # e.g. a reverse KL that is infinite while modes are missed
        ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center", color="grey")
    steps = np.concatenate([x for _, x, _ in lines]) if lines else np.array([])
    if steps.size and (not finite.size or steps.min() == steps.max()):
        ax.set_xlim(steps.min() - 1, steps.max() + 1)  # one point or none: integer steps around it
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def curve_plots(log: RunLog, final: dict) -> list[tuple[str, bytes]]:
    """(title, PNG) for the training curves, pre-training and every evaluated metric."""
    plots = []
    known = set(NOT_PLOTTED)
    for title, keys, scale in PANELS:
        known.update(keys)
        lines = [(k, *_series(log.train, k)) for k in keys]
        lines = [(k, x, y) for k, x, y in lines if len(x) and not (k == "reg" and np.nanmax(np.abs(y), initial=0) == 0)]
        if lines:
            plots.append((title, _plot(title, lines, scale)))
    others = sorted({k for r in log.train for k, v in r.items() if k not in known and isinstance(v, (int, float))})
    for key in others:  # whatever a loop change or a plugin adds to the log
        plots.append((key, _plot(key, [(key, *_series(log.train, key))])))
    skipped = _series(log.train, "skipped_steps")
    if len(skipped[1]) and np.nanmax(skipped[1], initial=0) > 0:
        plots.append(("Skipped (non-finite) steps", _plot("Skipped (non-finite) steps", [("skipped_steps", *skipped)])))
    if log.pretrain:
        plots.append(("Pre-training loss", _plot("Pre-training loss", [("pretrain_loss", *_series(log.pretrain, "pretrain_loss"))])))
    evals = [{"step": r["step"], **r["eval"]} for r in log.evals if isinstance(r.get("eval"), dict)]
    keys = list(dict.fromkeys(k for r in evals for k in r if k != "step" and not k.startswith("real/")))
    for key in keys:
        ref = final.get(f"real/{key}")
        refs = {"real vs real": ref} if isinstance(ref, (int, float)) and math.isfinite(ref) else None
        plots.append((f"eval: {key}", _plot(f"eval: {key}", [(key, *_series(evals, key))], references=refs)))
    return plots


# --- the page -------------------------------------------------------------------------------


def final_evaluation(log: RunLog) -> tuple[dict, str]:
    """The final metrics and where they come from: eval.json, else the last logged evaluation."""
    last_logged = log.evals[-1].get("step", -1) if log.evals else -1
    e = log.eval_json
    # eval.json wins unless training went on after it was written (then it is stale).
    if e and isinstance(e.get("metrics"), dict) and not (isinstance(e.get("step"), int) and e["step"] < last_logged):
        return e["metrics"], f"eval.json: step {e.get('step', '?')}, {e.get('samples', '?')} samples each"
    if log.evals:
        last = log.evals[-1]
        note = f"metrics.jsonl: step {last.get('step', '?')}, {last.get('eval_samples', '?')} samples"
        if not any(k.startswith("real/") for k in last["eval"]):
            note += f"; run `sparring eval {log.run_dir}` for the real-vs-real column"
        return last["eval"], note
    return {}, ""


def eval_table(results: dict, directions: dict) -> str:
    rows = []
    for key, value in results.items():
        if key.startswith("real/"):
            continue
        ref = results.get(f"real/{key}")
        better = {True: "higher", False: "lower"}.get(directions.get(key), "")
        ref = "" if f"real/{key}" not in results else _number(ref)
        rows.append(f"<tr><td>{html.escape(key)}</td><td>{_number(value)}</td><td>{ref}</td>"
                    f"<td>{better}</td></tr>")
    return ('<table class="eval"><tr><th>metric</th><th>generated</th><th>real vs real</th><th>better</th></tr>'
            + "".join(rows) + "</table>")


def _number(value) -> str:
    if value is None:
        return "non-finite"  # metrics.jsonl writes inf and NaN as null
    if isinstance(value, (int, float)):
        return f"{value:.4g}"
    return html.escape(str(value))


def _metric_directions(registry, config: dict) -> dict:
    directions: dict = {}
    for name in config.get("metrics", []) or []:
        try:
            directions.update(registry.get("metric", name).higher_is_better)
        except Exception:
            pass  # the metric's plugin is not installed here: no arrows, still a table
    return directions


def _summary(log: RunLog) -> str:
    c, t = log.config, log.config.get("trainer", {})
    steps_done = max((r["step"] for r in log.train if isinstance(r.get("step"), int)), default=0)
    items = [("modality", c.get("modality")), ("generator", c.get("generator", {}).get("name")),
             ("discriminator", c.get("discriminator", {}).get("name")),
             ("dataset", c.get("dataset", {}).get("name")), ("loss", t.get("loss")),
             ("steps", f"{steps_done} of {t.get('steps', '?')}"), ("batch size", t.get("batch_size")),
             ("seed", c.get("seed"))]
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{html.escape(str(v))}</dd>" for k, v in items if v is not None) + "</dl>"


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.meta{color:#666} dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
dt{font-weight:600} dd{margin:0} pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}
.plots{display:flex;flex-wrap:wrap;gap:.5em} .plots img{width:380px;max-width:100%}
.steps{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.step{border:1px solid #ddd;border-radius:6px;padding:.5em;max-width:100%}
.step h3{margin:.1em 0 .4em;font-size:1em} figure{margin:0 0 .5em}
img.sample{max-width:100%;height:auto} img.spectrogram{display:block;max-width:420px}
figcaption,caption,.note{color:#666;font-size:.8em}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}
table.text td:first-child{color:#999} .error{color:#b00}
"""


def write_report(run_dir, out=None, registry=None, max_steps: int = 8, inline: bool = True) -> Path:
    """Write the run's report (default ``RUN_DIR/report.html``) and return its path."""
    run_dir = Path(run_dir)
    log = read_run(run_dir)
    if registry is None:
        from .registry import load_registry

        registry = load_registry()
    out = Path(out) if out else run_dir / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    assets = Assets(out, inline=inline)
    if not inline and assets.folder.is_dir():
        shutil.rmtree(assets.folder)  # the previous report's files
    modality = log.config.get("modality", "")
    final, source = final_evaluation(log)
    e = html.escape
    body = [f"<h1>{e(run_dir.resolve().name)}</h1>",
            f'<p class="meta">sparring report of {e(str(run_dir))}, written '
            f'{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>', _summary(log)]
    if log.bad_lines:
        body.append(f'<p class="note">{log.bad_lines} unreadable line(s) in metrics.jsonl were skipped.</p>')

    body.append("<h2>Evaluation</h2>")
    if final:
        body.append(f'<p class="note">{e(source)}</p>' + eval_table(final, _metric_directions(registry, log.config)))
    else:
        body.append('<p class="note">No evaluation yet: configure metrics, or run '
                    f"<code>sparring eval {e(str(run_dir))}</code>.</p>")

    body.append("<h2>Curves</h2>")
    plots = curve_plots(log, final)
    body.append('<div class="plots">' + "".join(
        f'<img src="{assets.url(png, "image/png", re.sub(r"[^a-z0-9]+", "_", title.lower()) + ".png")}" '
        f'alt="{e(title)}" title="{e(title)}">' for title, png in plots) + "</div>"
        if plots else '<p class="note">No logged steps in metrics.jsonl yet.</p>')

    body.append("<h2>Samples</h2>")
    by_step = sample_steps(run_dir)
    shown = pick_steps(list(by_step), max_steps)
    if len(shown) < len(by_step):
        body.append(f'<p class="note">{len(shown)} of {len(by_step)} sample steps shown.</p>')
    cards = []
    for step in shown:
        cards.append(f'<section class="step"><h3>step {step}</h3>{_gallery(registry, run_dir, modality, step, by_step[step], assets)}</section>')
    body.append(f'<div class="steps">{"".join(cards)}</div>' if cards else '<p class="note">No samples written yet.</p>')

    body.append(f"<h2>Configuration</h2><pre>{e(log.config_text)}</pre>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>sparring report: {e(run_dir.resolve().name)}</title><style>{STYLE}</style></head>"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


def _gallery(registry, run_dir: Path, modality: str, step: int, paths: list[Path], assets: Assets) -> str:
    """One step's fragment from the first plugin that answers, else the default gallery."""
    try:
        fragment = registry.pm.hook.sparring_report_gallery(run_dir=run_dir, modality=modality, step=step,
                                                             paths=list(paths), assets=assets)
    except Exception as exc:  # a broken plugin costs its section, not the report
        print(f"sparring: warning: a plugin's report gallery failed at step {step}: {exc}", file=sys.stderr)
        fragment = (f'<p class="error">the {html.escape(modality)} gallery failed: '
                    f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</p>") + default_gallery(paths, assets)
    return default_gallery(paths, assets) if fragment is None else fragment
