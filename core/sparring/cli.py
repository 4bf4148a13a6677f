"""``sparring train | sample | eval | plugins`` (and whatever plugins add)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import ConfigError, SparringError, TrainingDiverged


def _raw_config(args) -> dict:
    """The raw configuration dict: a run's config.toml or --config, then CLI options, then --set."""
    from .config import apply_override, read_toml

    if args.resume:
        run = Path(args.resume)
        if not (run / "config.toml").is_file():
            raise ConfigError(f"--resume '{run}' is not a run folder (no config.toml in it)")
        raw = read_toml(run / "config.toml")
        raw["out"] = str(run)
    elif args.config:
        raw = read_toml(args.config)
    else:
        raw = {}
    if args.modality:
        if args.resume and raw.get("modality") not in (None, args.modality):
            raise ConfigError(f"--resume '{args.resume}' is a '{raw.get('modality')}' run, not '{args.modality}'")
        raw["modality"] = args.modality
    for option, section in (("dataset", "dataset"), ("generator", "generator"),
                            ("discriminator", "discriminator")):
        value = getattr(args, option)
        if value:
            table = raw.setdefault(section, {})
            if table.get("name") not in (None, value):
                # A different component: its options no longer apply.
                table.clear()
            table["name"] = value
    trainer = raw.setdefault("trainer", {})
    for option, key in (("loss", "loss"), ("steps", "steps"), ("batch_size", "batch_size")):
        value = getattr(args, option)
        if value is not None:
            trainer[key] = value
    for option in ("out", "device", "seed"):
        value = getattr(args, option)
        if value is not None:
            if option == "out" and args.resume:
                raise ConfigError("--out and --resume do not combine: a resumed run stays in its folder")
            raw[option] = value
    for assignment in args.set or []:
        apply_override(raw, assignment)
    return raw


def cmd_train(args, registry) -> int:
    from .checkpoint import latest_checkpoint
    from .config import resolve
    from . import distributed
    from .train import Trainer

    config = resolve(_raw_config(args), registry)
    if "tensorboard" in (args.log or []):
        from .tensorboard import register_tensorboard

        register_tensorboard(registry)  # before the Trainer: it looks up which hooks are implemented
    if not args.resume and latest_checkpoint(Path(config.out)) is not None:
        raise ConfigError(f"run folder '{config.out}' already holds checkpoints: continue it with "
                          f"`sparring train --resume {config.out}` or choose another --out")
    trainer = Trainer(config, registry, resume=bool(args.resume))
    start = trainer.step
    print(f"sparring: training {config.modality} ({config.generator.name} vs {config.discriminator.name} "
          f"on {config.dataset.name}, loss {config.trainer.loss}) on {trainer.device}, "
          f"steps {start}..{config.trainer.steps}; run folder {config.out}", file=sys.stderr)
    metrics = trainer.train()
    distributed.shutdown(trainer.dist)  # only after a clean end: a crashed rank must not hang the others
    if trainer.stopped is not None:
        # Signals keep the shell's conventions; a plugin's request is a normal end.
        return {"SIGINT": 130, "SIGTERM": 143}.get(trainer.stopped, 0)
    print(f"sparring: done at step {trainer.step}; samples in {Path(config.out) / 'samples'}, "
          f"log in {Path(config.out) / 'metrics.jsonl'}", file=sys.stderr)
    if metrics:
        print(format_table(metrics, trainer.metrics))
    return 0


def _load_run(run_dir: str, registry):
    from .config import read_toml, resolve
    from .train import Trainer

    run = Path(run_dir)
    if not (run / "config.toml").is_file():
        raise ConfigError(f"'{run}' is not a run folder (no config.toml in it)")
    raw = read_toml(run / "config.toml")
    raw["out"] = str(run)
    return Trainer(resolve(raw, registry), registry, resume=True)


def _sampling_choices(args) -> list[tuple[str, float]]:
    """The sampling options given (name, value), checked before the (slow) load."""
    from .latents import check_truncation
    from .rejection import check_d_keep

    check_truncation(args.truncation)
    check_d_keep(args.d_keep)
    return [(name, v) for name, v in (("truncation", args.truncation), ("dkeep", args.d_keep)) if v is not None]


def cmd_sample(args, registry) -> int:
    import torch

    choices = _sampling_choices(args)
    trainer = _load_run(args.run, registry)
    name = f"sample_step_{trainer.step:07d}"
    for key, value in choices:  # no dot in the name: the writers add their suffix
        name += f"_{key}_" + f"{value:g}".replace(".", "p")
    out = Path(args.out) if args.out else trainer.run_dir / "samples" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    samples = trainer.sample(args.n, seed=args.seed, truncation=args.truncation, d_keep=args.d_keep)
    paths = trainer.write_samples(path=out, samples=samples)
    if args.raw or trainer.writer is None:
        raw_path = out.with_suffix(".pt")
        torch.save(samples, raw_path)
        paths.append(raw_path)
    for p in paths:
        print(p)
    return 0


def format_table(results: dict, specs=()) -> str:
    """Metric | generated | real vs real | direction, as aligned text."""
    direction = {}
    for spec in specs:
        direction.update(spec.higher_is_better)
    keys = [k for k in results if not k.startswith("real/")]
    rows = [("metric", "generated", "real vs real", "better")]
    for k in keys:
        ref = results.get(f"real/{k}")
        better = {True: "higher", False: "lower"}.get(direction.get(k), "")
        rows.append((k, f"{results[k]:.4g}", "" if ref is None else f"{ref:.4g}", better))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_eval(args, registry) -> int:
    choices = _sampling_choices(args)
    trainer = _load_run(args.run, registry)
    if not trainer.metrics:
        raise ConfigError(f"modality '{trainer.config.modality}' has no metrics configured")
    results = trainer.evaluate(args.n, reference=True, truncation=args.truncation, d_keep=args.d_keep)
    print(format_table(results, trainer.metrics))
    if args.truncation is not None:
        print(f"generated from latents cut to [-{args.truncation:g}, {args.truncation:g}] (the truncation trick)")
    if args.d_keep is not None:
        print(f"generated: the {args.d_keep:g} share of a larger draw that D rates most real "
              "(discriminator rejection sampling)")
    # a truncated or ranked evaluation gets its own file, so eval.json (the report's) stays the plain one
    default = "eval" + "".join(f"-{'truncation' if k == 'truncation' else 'd-keep'}-{v:g}" for k, v in choices)
    out = Path(args.json) if args.json else trainer.run_dir / f"{default}.json"
    record = {"step": trainer.step, "samples": args.n or trainer.config.trainer.eval_samples, "metrics": results}
    if args.truncation is not None:
        record["truncation"] = args.truncation
    if args.d_keep is not None:
        record["d_keep"] = args.d_keep
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved {out}", file=sys.stderr)
    return 0


def cmd_report(args, registry) -> int:
    from .report import write_report

    path = write_report(args.run, out=args.out, registry=registry, max_steps=args.max_steps,
                        inline=args.assets == "inline")
    print(path)
    return 0


def cmd_plugins(args, registry) -> int:
    plugins = [p.to_dict() for p in registry.plugins.values()]
    if args.json:
        print(json.dumps(plugins, indent=2))
        return 0
    for p in plugins:
        status = " [disabled]" if p["disabled"] else (" [FAILED]" if p["error"] else "")
        dist = f"{p['distribution']} {p['version']}".strip()
        print(f"{p['name']}{status}  ({dist or 'registered in code'})")
        if p["error"]:
            print(f"  error: {p['error']}")
        if p["hooks"]:
            print(f"  hooks: {', '.join(p['hooks'])}")
        for kind, names in p["registers"].items():
            print(f"  {kind}: {', '.join(names)}")
    return 0


def build_parser(registry) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sparring", description="Adversarial training for any modality.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("train", help="train a GAN (a modality's defaults fill what is not named)")
    p.add_argument("modality", nargs="?", help=f"one of: {', '.join(registry.names('modality'))}")
    p.add_argument("--dataset")
    p.add_argument("--generator")
    p.add_argument("--discriminator")
    p.add_argument("--loss", help=f"one of: {', '.join(registry.names('loss'))}")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--out", help="run folder (default runs/<modality>-<dataset>)")
    p.add_argument("--config", help="a TOML file (see docs/configuration.md)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override, e.g. trainer.lr_g=2e-4")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--seed", type=int)
    p.add_argument("--log", action="append", choices=("tensorboard",),
                   help="also log to TensorBoard (RUN_DIR/tensorboard; needs the tensorboard package)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="write samples of a run's (EMA) generator")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("-n", type=int, default=64, help="number of samples")
    p.add_argument("--out", help="output path without suffix")
    p.add_argument("--raw", action="store_true", help="also save the raw tensor as .pt")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--truncation", type=float, default=None, metavar="T",
                   help="draw each latent entry from the normal cut to [-T, T] (the truncation trick: "
                        "typical samples, less variety; e.g. 1.0)")
    p.add_argument("--d-keep", type=float, default=None, metavar="F", dest="d_keep",
                   help="draw n / F samples and keep the n that D rates most real (discriminator "
                        "rejection sampling; e.g. 0.5)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("eval", help="the modality's metrics: generated vs real, beside real vs real")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("-n", type=int, default=None, help="samples (default trainer.eval_samples)")
    p.add_argument("--json", help="where to save the results (default RUN_DIR/eval.json, or "
                                  "RUN_DIR/eval-truncation-T.json with --truncation, eval-d-keep-F.json with --d-keep)")
    p.add_argument("--truncation", type=float, default=None, metavar="T",
                   help="score samples from latents cut to [-T, T] (not logged with the run's curves)")
    p.add_argument("--d-keep", type=float, default=None, metavar="F", dest="d_keep",
                   help="score the n of n / F samples that D rates most real (not logged with the run's curves)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("report", help="write RUN_DIR/report.html: config, curves, samples, evaluation")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--out", help="where to write the page (default RUN_DIR/report.html)")
    p.add_argument("--max-steps", type=int, default=8, dest="max_steps",
                   help="sample steps shown, evenly spread, first and last included (0: all)")
    p.add_argument("--assets", choices=("inline", "folder"), default="inline",
                   help="inline: one self-contained file; folder: files in report_assets/ beside it")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("plugins", help="list installed plugins and what they register")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    registry.pm.hook.sparring_cli_commands(subparsers=sub)
    return parser


def main(argv=None) -> int:
    from .registry import load_registry

    try:
        registry = load_registry()
        parser = build_parser(registry)
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        if args.func in (cmd_train, cmd_sample, cmd_eval, cmd_report, cmd_plugins):
            return args.func(args, registry) or 0
        return args.func(args) or 0
    except TrainingDiverged as exc:
        print(f"sparring: training diverged: {exc}", file=sys.stderr)
        return 3
    except SparringError as exc:
        print(f"sparring: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sparring: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
