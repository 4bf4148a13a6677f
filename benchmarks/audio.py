"""Audio and music quality benchmark: MuseGAN on the chorales, WaveGAN and SpecGAN on
the spoken digits.

Music: the MuseGAN metrics (empty bars, used pitch classes per bar, qualified notes,
polyphony, in-scale ratio, tonal distance) of generated 4-bar phrases beside the same
metrics of every training segment; the goal is within 10% on empty bars, used pitch
classes and qualified notes. Spoken digits (scripts/build_spoken_digits.py): the
Inception-style score and Frechet distance of our log-mel digit classifier for
generated clips beside real clips; the WaveGAN paper's SC09 ratios are 4.67 / 9.18
(WaveGAN / real) and 6.03 / 9.18 (SpecGAN / real), our goal is >= 0.7 for the better
model. SpecGAN is also compared with real clips passed through its own spectrogram and
Griffin-Lim (the best it can sound).

Each part trains a fresh run (or reuses a finished one), evaluates it and saves a JSON
result under --out; the table is printed from those files, so parts can run in separate
processes:

    python benchmarks/audio.py --only music --music-steps 300
    python benchmarks/audio.py --only wavegan --audio-steps 300 --dim 16
    python benchmarks/audio.py --only specgan --audio-steps 300 --dim 16 --truncation 1.0 0.5
    python benchmarks/audio.py --only specgan --audio-steps 300 --dim 16 --d-keep 0.5   # D picks
    python benchmarks/audio.py --only specgan-cond --audio-steps 300 --dim 16   # told the digit
    python benchmarks/audio.py --table
    python benchmarks/audio.py --curves benchmarks/results/specgan_cpu --plot curves.png

The defaults (--music-steps 20000, --audio-steps 20000, --dim 64) are the paper-sized
setting for a GPU; on a CPU use the small numbers above and read the result as a
smoke test, not as the models' quality.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

MUSIC_KEYS = ("empty_bars", "used_pitch_classes", "qualified_notes", "polyphony", "in_scale", "tonal_distance",
              "diversity")
GOAL_KEYS = ("empty_bars", "used_pitch_classes", "qualified_notes")
# Below this share of the data's diversity the samples are one phrase repeated (mode
# collapse), which the per-bar goal metrics cannot see: their goal is then not counted.
COLLAPSED_BELOW = 0.5
PAPER = {"wavegan": 4.67 / 9.18, "specgan": 6.03 / 9.18}


def _train(raw: dict, run_dir: Path, overrides: tuple[str, ...] | list[str] = ()):
    """A finished run's trainer (resumed from its last checkpoint) or a freshly trained one;
    ``overrides`` are ``KEY=VALUE`` settings applied over the benchmark's own."""
    from sparring.checkpoint import latest_checkpoint
    from sparring.config import apply_override, resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer

    registry = load_registry()
    raw = json.loads(json.dumps({**raw, "out": str(run_dir)}))
    for assignment in overrides:
        apply_override(raw, assignment)
    resume = latest_checkpoint(run_dir) is not None
    trainer = Trainer(resolve(raw, registry), registry, resume=resume)
    start = time.time()
    if trainer.step < trainer.config.trainer.steps:
        trainer.config.trainer.eval_samples = 2  # the benchmark evaluates below
        trainer.metrics = []
        trainer.train()
        if trainer.step < trainer.config.trainer.steps and not trainer.out_of_time:  # SIGINT/SIGTERM
            raise SystemExit(f"[{run_dir.name}] stopped at step {trainer.step} of {trainer.config.trainer.steps}; "
                             f"no rows (the same command continues it from its checkpoint)")
    return trainer, time.time() - start


def _hardware(trainer) -> str:
    import torch

    if trainer.device.type == "cuda":
        return f"{trainer.device} ({torch.cuda.get_device_name(trainer.device)})"
    return str(trainer.device)


def run_music(args) -> dict:
    import torch

    from sparring_audio import music_metrics

    raw = {"modality": "music", "seed": args.seed, "device": args.device,
           "trainer": {"steps": args.music_steps, "time_limit": args.minutes, "precision": args.precision,
                       "batch_size": 32, "loss": "hinge", "betas_g": [0.5, 0.9],
                       "betas_d": [0.5, 0.9], "ema_halflife": 2000.0, "sample_every": 1000,
                       "checkpoint_every": 100, "n_samples": 8, "log_every": 20},
           "generator": {"channels": args.music_channels}, "discriminator": {"channels": args.music_channels // 2}}
    trainer, seconds = _train(raw, args.out / "music", args.set)
    ds = trainer.dataset
    generated = trainer.real_to_d(trainer.sample(args.music_samples, seed=1))
    gen = music_metrics.musegan_metrics(generated, ds.steps_per_bar, ds.lowest_pitch)
    data = music_metrics.musegan_metrics(ds.segments.bool(), ds.steps_per_bar, ds.lowest_pitch)
    paths = trainer.write_samples(4, args.out / "music" / "benchmark_samples")
    return {"part": "music", "steps": trainer.step, "train_seconds": seconds, "samples": args.music_samples,
            "segments": int(ds.segments.shape[0]), "generated": gen, "data": data,
            "device": _hardware(trainer), "torch_threads": torch.get_num_threads(), "overrides": list(args.set),
            "files": [str(p) for p in paths]}


def run_digits(args, model: str) -> dict:
    import torch

    from sparring.rejection import candidates
    from sparring_audio import audio_metrics, spectral

    conditional = model.endswith("-cond")  # told which digit to say: labels in, a projection D
    raw = {"modality": "audio", "seed": args.seed, "device": args.device,
           "generator": {"name": model, "dim": args.dim}, "discriminator": {"name": model, "dim": args.dim},
           "dataset": {"name": "spoken-digits", "labels": conditional},
           "trainer": {"steps": args.audio_steps, "time_limit": args.minutes, "precision": args.precision,
                       "batch_size": 32, "loss": "wasserstein", "regularizer": "gp",
                       "n_critic": args.n_critic, "lr_g": 2e-4, "lr_d": 2e-4, "betas_g": [0.5, 0.9],
                       "betas_d": [0.5, 0.9], "ema_halflife": 2000.0, "sample_every": 1000,
                       "checkpoint_every": 100, "n_samples": 8, "log_every": 20}}
    trainer, seconds = _train(raw, args.out / model, args.set)
    ds = trainer.dataset
    reference, is_training_set = reference_clips(trainer)
    n = min(args.audio_samples, len(reference) // 2)
    samples = trainer.sample(n, seed=args.sample_seed)
    generated = spectral.as_waveforms(samples, ds)  # Griffin-Lim once, for every metric
    order = torch.randperm(len(reference), generator=torch.Generator().manual_seed(0))
    real = reference[order]  # shuffled: the set is stored digit by digit
    result = {"part": model, "steps": trainer.step, "train_seconds": seconds, "samples": n,
              "generated": audio_metrics.digit_metrics(generated, real[:n], ds),
              "real": audio_metrics.digit_metrics(real[n:2 * n], real[:n], ds),
              "device": _hardware(trainer), "overrides": list(args.set), "sample_seed": args.sample_seed,
              "reference": "training set" if is_training_set else "standard spoken-digits set"}
    # which digits the clips say, and how clearly: the score's two factors digit by digit
    result["digits"] = {"generated": audio_metrics.digit_breakdown(generated, ds),
                        "real": audio_metrics.digit_breakdown(real[n:2 * n], ds)}
    if conditional:  # trainer.sample asks for the digits 0, 1, ..., 9, 0, ... in turn
        result["asked_digit_heard"] = audio_metrics.digit_agreement(generated, torch.arange(n) % 10, ds)
    result["d_says_real"] = d_says_real(trainer, samples)
    # the truncation trick (BigGAN): the same seed's latents cut to [-t, t], a sampling
    # choice scored beside the plain row (the paper's ratios are untruncated)
    result["truncated"] = []
    for t in args.truncation:
        clips = spectral.as_waveforms(trainer.sample(n, seed=args.sample_seed, truncation=t), ds)
        result["truncated"].append({"truncation": t, "generated": audio_metrics.digit_metrics(clips, real[:n], ds),
                                    "digits": audio_metrics.digit_breakdown(clips, ds)})
    # discriminator rejection sampling (Azadi et al.): of n / keep clips, the n D rates most
    # real; also a sampling choice, scored beside the plain row
    result["d_ranked"] = []
    for keep in args.d_keep:
        clips = spectral.as_waveforms(trainer.sample(n, seed=args.sample_seed, d_keep=keep), ds)
        result["d_ranked"].append({"d_keep": keep, "drawn": candidates(n, keep), "generated": audio_metrics.digit_metrics(clips, real[:n], ds),
                                   "digits": audio_metrics.digit_breakdown(clips, ds)})
    if model.startswith("specgan"):
        specs = ds.items[order[n:2 * n]] if is_training_set else \
            spectral.to_spectrogram(real[n:2 * n], ds.spec_mean, ds.spec_std)
        resynth = spectral.invert(specs, ds.spec_mean, ds.spec_std)
        result["real_griffin_lim"] = audio_metrics.digit_metrics(resynth, real[n:2 * n], None)
    result["files"] = [str(p) for p in trainer.write_samples(4, args.out / model / "benchmark_samples")]
    return result


def reference_clips(trainer) -> tuple[torch.Tensor, bool]:
    """The real clips every row is scored against, and whether they are the run's own
    training set: the standard 1,440 spoken digits, also for a run trained on another set
    (``dataset.size=dense`` or a ``dataset.path``), so that its score, FD and ratio sit
    beside the other rows'."""
    from sparring_audio import audio_data
    from sparring_audio.configs import SpokenDigitsConfig

    cfg = trainer.config.dataset.params
    if not cfg.path and cfg.size == "standard":
        return trainer.dataset.waveforms, True
    standard = audio_data.build_spoken_digits(SpokenDigitsConfig(labels=False, representation="waveform"))
    return standard.waveforms, False


def d_says_real(trainer, generated: torch.Tensor, batch: int = 256) -> dict | None:
    """The share of clips D calls real (logit > 0), seen as in training (augmented, packed;
    the augmentation's draws seeded): its training clips, unseen clips of the same voices
    (``spoken_digits.build_unseen``, built once with espeak-ng) and ``generated``. A D that
    memorised its set calls training clips real and unseen ones fake, as it does fakes.
    Unpacked, also D's mean logit on the unseen clips digit by digit
    (``unseen_logit_by_digit``): a digit G seldom makes stands out there, as D rates
    the real clips of a dropped mode most real. None without espeak-ng and no unseen file."""
    import torch

    from sparring_audio import spectral, spoken_digits

    path = spoken_digits.unseen_path()
    if not path.is_file():
        if spoken_digits.espeak_binary() is None:
            print("audio benchmark: no espeak-ng, so no unseen clips: D's memorisation not measured", file=sys.stderr)
            return None
        spoken_digits.build_unseen(path)
    try:
        clips, labels = spoken_digits.load(path)
    except ValueError as exc:
        print(f"audio benchmark: unseen clips '{path}' unreadable ({exc}); delete it to rebuild: "
              "D's memorisation not measured", file=sys.stderr)
        return None
    unseen = torch.from_numpy(clips).unsqueeze(1)
    ds = trainer.dataset
    if ds.spec_mean is not None:
        unseen = spectral.to_spectrogram(unseen, ds.spec_mean, ds.spec_std)
    order = torch.randperm(len(ds.items), generator=torch.Generator().manual_seed(0))[:len(unseen)]
    pack = trainer.config.trainer.pack
    # a class-conditional D judges each clip as the digit it is (generated: the digit asked)
    conditional = getattr(trainer, "num_classes", None) is not None
    digits = {"training": ds.labels[order] if conditional else None,
              "unseen": torch.from_numpy(labels).long(), "generated": torch.arange(len(generated)) % 10}

    def judge(x, y):
        x = x.to(trainer.device)
        return trainer.d_forward(x, y.to(trainer.device)) if conditional else trainer.d_forward(x)

    shares = {}
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for name, x in (("training", ds.items[order]), ("unseen", unseen), ("generated", generated)):
            x = x[:len(x) // pack * pack].float()
            logits = torch.cat([judge(x[i:i + batch], digits[name][i:i + batch] if conditional else None)
                                .flatten().float().cpu() for i in range(0, len(x), batch)])
            shares[name] = float((logits > 0).float().mean())
            if name == "unseen" and pack == 1:  # packed, one logit judges two clips' digits
                by_digit = torch.from_numpy(labels).long()
                shares["unseen_logit_by_digit"] = [float(logits[by_digit == d].mean()) if (by_digit == d).any()
                                                   else None for d in range(10)]
    return shares


def _parts(metrics: dict) -> str:
    """The score's two factors: digits covered over per-clip doubt (blank in older results)."""
    if "digit_classes" not in metrics:
        return ""
    return f"{metrics['digit_classes']:.2f} / {metrics['digit_doubt']:.2f}"


def table(out: Path) -> str:
    results = {}
    for path in sorted(out.glob("*.json")):
        r = json.loads(path.read_text())
        results[r["part"]] = r
    lines = []
    if "music" in results:
        r = results["music"]
        lines += [f"Music: MuseGAN on {r['segments']} chorale segments, {r['steps']} steps "
                  f"({r['train_seconds'] / 60:.0f} min on {r['device']}), {r['samples']} generated phrases"
                  + "".join(f", {a}" for a in r.get("overrides", [])),
                  "", "| metric | generated | training data | relative gap | goal |", "|---|---|---|---|---|"]
        gen_div, data_div = r["generated"].get("diversity"), r["data"].get("diversity")
        collapsed = gen_div is not None and data_div and gen_div < COLLAPSED_BELOW * data_div
        for k in MUSIC_KEYS:
            if k not in r["generated"]:
                continue  # a result from before the metric existed
            g, d = r["generated"][k], r["data"][k]
            gap = abs(g - d) / max(abs(d), 1e-3)
            goal = ""
            if k in GOAL_KEYS:
                goal = "not met" if gap > 0.10 else ("met, but collapsed" if collapsed else "met")
            lines.append(f"| {k} | {g:.3f} | {d:.3f} | {100 * gap:.0f}% | {goal} |")
        if collapsed:
            lines += ["", f"Collapsed: diversity {gen_div:.3f} against the data's {data_div:.3f} (under "
                      f"{COLLAPSED_BELOW:.0%} of it): the samples repeat one phrase, so no goal row counts."]
        lines.append("")
    digit_rows = [m for m in ("wavegan", "specgan", "wavegan-cond", "specgan-cond") if m in results]
    if digit_rows:
        lines += ["Spoken digits (espeak-ng, SC09-like): our classifier's score", "",
                  "| model | steps | score (IS) | = classes / doubt | FD | real IS | ratio | paper ratio "
                  "| classifier acc |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for m in digit_rows:
            r = results[m]
            g, real = r["generated"], r["real"]
            lines.append(f"| {m} | {r['steps']} | {g['digit_is']:.2f} | {_parts(g)} | {g['digit_fd']:.1f} "
                         f"| {real['digit_is']:.2f} "
                         f"| {g['digit_is'] / real['digit_is']:.2f} | {_paper(m)} | {g['classifier_acc']:.3f} |")
            for label, choice in _sampling_choices(m, r):
                tg = choice["generated"]
                lines.append(f"| {label} | {r['steps']} | {tg['digit_is']:.2f} "
                             f"| {_parts(tg)} | {tg['digit_fd']:.1f} | {real['digit_is']:.2f} "
                             f"| {tg['digit_is'] / real['digit_is']:.2f} | | {tg['classifier_acc']:.3f} |")
            if "real_griffin_lim" in r:
                gl = r["real_griffin_lim"]
                lines.append(f"| real through SpecGAN's spectrogram + Griffin-Lim | | {gl['digit_is']:.2f} "
                             f"| {_parts(gl)} | {gl['digit_fd']:.1f} | {real['digit_is']:.2f} | "
                             f"{gl['digit_is'] / real['digit_is']:.2f} | | |")
        asked = [(m, results[m]["asked_digit_heard"]) for m in digit_rows if "asked_digit_heard" in results[m]]
        if asked:
            lines += ["", "Class-conditional models (told which digit to say; the paper's models are not, so "
                      "their ratio is no answer to its table): the share of clips heard as the digit asked", "",
                      "| model | all | " + " | ".join(str(d) for d in range(10)) + " |", "|---|---|" + "---|" * 10]
            lines += [f"| {m} | {100 * a['agreement']:.0f}% | "
                      + " | ".join("" if v != v else f"{100 * v:.0f}%" for v in a["by_digit"]) + " |"
                      for m, a in asked]
        lines += _digit_breakdown_table(results, digit_rows)
        judged = [(m, results[m]["d_says_real"]) for m in digit_rows if results[m].get("d_says_real")]
        if judged:
            lines += ["", "What D calls real (a D that memorised its set says real to its training clips "
                      "and fake to unseen ones)", "", "| model | training clips | unseen clips | generated |",
                      "|---|---|---|---|"]
            lines += [f"| {m} | {100 * j['training']:.0f}% | {100 * j['unseen']:.0f}% | "
                      f"{100 * j['generated']:.0f}% |" for m, j in judged]
            by_digit = [(m, j["unseen_logit_by_digit"]) for m, j in judged if j.get("unseen_logit_by_digit")]
            if by_digit:
                lines += ["", "D's mean logit on the unseen real clips, digit by digit (highest for the "
                          "digits G seldom makes: D knows what is missing)", "",
                          "| model | " + " | ".join(str(d) for d in range(10)) + " |", "|---|" + "---|" * 10]
                lines += [f"| {m} | " + " | ".join("" if v is None else f"{v:.2f}" for v in logits) + " |"
                          for m, logits in by_digit]
    return "\n".join(lines)


def _sampling_choices(model: str, result: dict) -> list[tuple[str, dict]]:
    """The rows sampled otherwise than plainly (truncated latents, D's ranking), labelled."""
    rows = [(f"{model}, latents cut to ±{tr['truncation']:g}", tr) for tr in result.get("truncated", [])]
    rows += [(f"{model}, D's best {result['samples']} of {dr['drawn']}", dr) for dr in result.get("d_ranked", [])]
    return rows


def _paper(model: str) -> str:
    """The WaveGAN paper's ratio for an unconditional model (it trained no conditional one)."""
    return f"{PAPER[model]:.2f}" if model in PAPER else "none"


def _digit_breakdown_table(results: dict, models: list) -> list:
    """Each digit's share of the clips (by the classifier's top class) and their mean top
    probability; absent from results saved before the breakdown existed."""
    rows = []
    for m in (m for m in models if "digits" in results[m]):
        rows.append((f"{m} (generated)", results[m]["digits"]["generated"]))
        rows += [(label, choice["digits"]) for label, choice in _sampling_choices(m, results[m])]
    if not rows:
        return []
    real = next(results[m]["digits"]["real"] for m in models if "digits" in results[m])
    rows.append(("real clips", real))  # the same held-out clips for either model
    lines = ["", "Which digits: share of the clips the classifier calls each digit, and their mean "
             "top probability", "", "| clips | " + " | ".join(str(d) for d in range(10)) + " |",
             "|---|" + "---|" * 10]
    for name, b in rows:
        cells = [f"{100 * s:.0f}% ({c:.2f})" if s > 0 else "0%" for s, c in zip(b["shares"], b["confidence"])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def digit_curves(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Saved spoken-digit results named ``<run>-<steps>.json``, grouped by run: (steps,
    generated / real score) pairs in step order."""
    runs: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.glob("*.json")):
        r = json.loads(path.read_text())
        if "digit_is" not in r.get("generated", {}):
            continue  # a music result
        name, _, tail = path.stem.rpartition("-")
        runs.setdefault(name if tail.isdigit() else path.stem, []).append(
            (r["steps"], r["generated"]["digit_is"] / r["real"]["digit_is"]))
    return {name: sorted(points) for name, points in runs.items()}


def plot_digit_curves(curves: dict, out: Path, goal: float = 0.7) -> Path:
    """A PNG of each run's score ratio against steps, with the goal and the paper's SpecGAN."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, points in curves.items():
        ax.plot(*zip(*points), marker="o", label=name)
    ax.axhline(goal, color="k", linestyle="--", linewidth=1, label=f"goal {goal}")
    ax.axhline(PAPER["specgan"], color="grey", linestyle=":", linewidth=1,
               label=f"SpecGAN paper {PAPER['specgan']:.2f}")
    ax.set(xlabel="training steps", ylabel="generated / real digit score", ylim=(0, 1))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: many runs, no curve hidden
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("music", "wavegan", "specgan", "wavegan-cond", "specgan-cond"),
                        action="append", help="the -cond models are told which digit to say (not run by default)")
    parser.add_argument("--table", action="store_true", help="only print the table from saved results")
    parser.add_argument("--out", type=Path, default=Path("runs/benchmark-audio"))
    parser.add_argument("--music-steps", type=int, default=20000)
    parser.add_argument("--music-channels", type=int, default=128)
    parser.add_argument("--music-samples", type=int, default=1000)
    parser.add_argument("--audio-steps", type=int, default=20000)
    parser.add_argument("--audio-samples", type=int, default=500)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--minutes", type=float, default=0.0,
                        help="end each model's training after this many minutes (0: every step); the table "
                             "says the steps reached")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                        help="trainer.precision (auto: bf16 on CUDA)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-seed", type=int, default=1,
                        help="seed of the spoken-digit clips scored (another draw from the same G: how much "
                             "of a row is the draw)")
    parser.add_argument("--truncation", type=float, nargs="+", default=[], metavar="T",
                        help="also score the spoken-digit models with latents cut to [-T, T] (the truncation "
                             "trick), one row each")
    parser.add_argument("--d-keep", type=float, nargs="+", default=[], metavar="F",
                        help="also score the spoken-digit models' n best of n / F clips by D's logit "
                             "(discriminator rejection sampling), one row each")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a key of the runs' configuration (e.g. trainer.loss=wasserstein)")
    parser.add_argument("--curves", type=Path, metavar="DIR",
                        help="only plot the score ratio against steps of the results saved in DIR as "
                             "<run>-<steps>.json, to --plot")
    parser.add_argument("--plot", type=Path, default=Path("digit-curves.png"))
    args = parser.parse_args(argv)
    from sparring.errors import ConfigError
    from sparring.latents import check_truncation
    from sparring.rejection import check_d_keep

    try:  # before hours of training, not after
        for t in args.truncation:
            check_truncation(t)
    except ConfigError:
        parser.error(f"--truncation takes positive numbers, got {' '.join(f'{t:g}' for t in args.truncation)}")
    try:
        for keep in args.d_keep:
            check_d_keep(keep)
    except ConfigError:
        parser.error(f"--d-keep takes fractions in (0, 1], got {' '.join(f'{k:g}' for k in args.d_keep)}")
    if args.d_keep and any(a.replace(" ", "").startswith("trainer.pack=") and a.split("=", 1)[1].strip() != "1"
                           for a in args.set):
        parser.error("--d-keep ranks clips one by one, which a packed D (trainer.pack > 1) cannot do")
    if args.curves:
        curves = digit_curves(args.curves)
        if not curves:
            print(f"audio benchmark: no spoken-digit results (<run>-<steps>.json) in {args.curves}", file=sys.stderr)
            return 2
        for name, points in curves.items():
            print(f"{name}: " + ", ".join(f"{steps} steps {ratio:.2f}" for steps, ratio in points))
        print(f"wrote {plot_digit_curves(curves, args.plot)}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table:
        from sparring.errors import SparringError

        for part in args.only or ("music", "wavegan", "specgan"):
            try:
                result = run_music(args) if part == "music" else run_digits(args, part)
            except SparringError as err:  # a bad --set key or value: one line, not a traceback
                print(f"audio benchmark: {err}", file=sys.stderr)
                return 2
            (args.out / f"{part}.json").write_text(json.dumps(result, indent=2) + "\n")
            print(f"{part}: done in {result['train_seconds']:.0f}s", file=sys.stderr)
    print(table(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
