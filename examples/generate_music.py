"""Generate a chorale phrase: train MuseGAN on the Bach chorales (or load a run), then
write a MIDI file and a WAV you can play.

    python examples/generate_music.py                         # trains runs/music-example first
    python examples/generate_music.py --out runs/music-example --phrases 4 --seed 3
    python examples/generate_music.py --steps 5000 --device cuda
    python examples/generate_music.py --out /tmp/m --steps 2 --tiny   # a smoke test in seconds

Everything goes under --out: the run folder (--out/run) and the .mid and .wav.

The first run converts the 371 chorales shipped with music21 to piano rolls (a few
minutes, cached under ~/.cache/sparring/audio). The default training is short so that
it finishes on a laptop CPU (500 steps of five critic steps each: 17 CPU-minutes on one
thread of our test machine); the phrases get better with more steps. The WAV is
rendered by pretty_midi's sine synthesiser: no soundfont, no download.
"""
from __future__ import annotations

# requires: sparring_audio

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def load_or_train(run: Path, steps: int, device: str, seed: int, tiny: bool = False):
    """A trainer at its latest checkpoint, trained up to ``steps`` first if needed."""
    from sparring.checkpoint import latest_checkpoint
    from sparring.config import read_toml, resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    registry = load_registry()
    if latest_checkpoint(run) is not None:
        raw = read_toml(run / "config.toml")
        raw["out"] = str(run)
        raw.setdefault("trainer", {})["steps"] = max(steps, raw["trainer"].get("steps", 0))
        trainer = Trainer(resolve(raw, registry), registry, resume=True)
    else:
        # One note per voice on an eighth-note grid, nearest time upsampling, two phrases
        # per D input, D's onset stream, WGAN-GP with five critic steps per G step
        # (MuseGAN's): the CPU trial in docs/benchmarks.md whose pitch classes, note
        # lengths and variety match the chorales'.
        voices = {"monophonic": True, "time_upsample": "nearest", "note_grid": 2}
        critic = {"onset_stream": True}
        raw = {"modality": "music", "out": str(run), "seed": seed, "device": device,
               "generator": {"channels": 64, **voices}, "discriminator": {"channels": 32, **critic},
               "trainer": {"steps": steps, "batch_size": 32, "loss": "wasserstein", "regularizer": "gp",
                           "n_critic": 5, "pack": 2, "betas_g": [0.5, 0.9], "betas_d": [0.5, 0.9],
                           "ema_halflife": 2000.0, "sample_every": 250, "n_samples": 8, "eval_samples": 500}}
        if tiny:  # two chorales, small models, no evaluation: seconds on one core
            raw["generator"], raw["discriminator"] = {"channels": 32, **voices}, {"channels": 8, **critic}
            raw["dataset"] = {"max_chorales": 2, "workers": 1}
            raw["trainer"].update(batch_size=8, eval_every=-1, n_samples=2)
        trainer = Trainer(resolve(raw, registry), registry)
    if trainer.step < trainer.config.trainer.steps:
        print(f"training MuseGAN on the chorales: steps {trainer.step}..{trainer.config.trainer.steps} "
              f"on {trainer.device}; run folder {run}", file=sys.stderr)
        trainer.train()
    return trainer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/music-example"),
                        help="folder for the run (OUT/run) and the MIDI and WAV files")
    parser.add_argument("--steps", type=int, default=500, help="train until this step (0: just load)")
    parser.add_argument("--phrases", type=int, default=2, help="4-bar phrases joined into the piece")
    parser.add_argument("--tempo", type=float, default=90.0, help="beats per minute")
    parser.add_argument("--tiny", action="store_true", help="two chorales, tiny models: a smoke test")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0, help="which phrases to draw")
    args = parser.parse_args(argv)

    import torch

    from sparring_audio.audio_data import render_roll
    from sparring_audio.audio_writers import write_wav
    from sparring_audio.pianoroll import roll_to_midi

    trainer = load_or_train(args.out / "run", args.steps, args.device, args.seed, args.tiny)
    ds = trainer.dataset
    samples = trainer.sample(args.phrases, seed=args.seed)          # (phrases, 4, 64, pitches)
    piece = torch.cat(list(samples), dim=1).numpy() > 0            # phrases one after another
    out = args.out / f"chorale_step{trainer.step}_seed{args.seed}"
    out.parent.mkdir(parents=True, exist_ok=True)
    midi = roll_to_midi(piece, Path(f"{out}.mid"), ds.steps_per_beat, args.tempo, ds.lowest_pitch)
    wave = render_roll(piece, 16000, args.tempo, ds.steps_per_beat, ds.lowest_pitch)
    wav = write_wav(wave, Path(f"{out}.wav"), 16000)
    notes = sum(len(i.notes) for i in midi.instruments)
    print(f"{out}.mid  ({notes} notes, {midi.get_end_time():.1f} s, soprano/alto/tenor/bass)")
    print(f"{wav}  (16 kHz mono, pretty_midi sine synthesis)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
