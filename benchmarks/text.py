"""Text GAN benchmarks: the oracle LSTM (NLL-oracle, NLL-gen) and COCO captions (BLEU, Self-BLEU).

Each case trains one run: MLE pre-training of the generator (the core's pre-training
phase), measured; then Gumbel-softmax adversarial training (RSGAN loss, RelGAN's
exponential inverse-temperature schedule), measured again. Both rows come from the
same run, beside the published values.

- oracle (SeqGAN/RelGAN protocol): vocab 5,000, length 20, 10,000 training sequences
  from a random LSTM; NLL-oracle is the oracle's per-token NLL of generated sequences,
  NLL-gen the generator's NLL of held-out oracle data.
- coco: the text-GAN split under ../shared/data/coco_captions/, word tokens (nltk-style
  split of punctuation, as the published tables tokenize); BLEU-2..5
  of generated captions against the whole test file (nltk sentence_bleu, method1) and
  Self-BLEU-2..5 of the generated captions, beside the test set's own Self-BLEU on as
  many sentences.

    OMP_NUM_THREADS=1 python benchmarks/text.py --only oracle --pretrain-steps 1500 --adv-steps 300
    python benchmarks/text.py --only coco --rerank-keep 0.8,0.6   # + the best n of n/0.8 and n/0.6 samples
    python benchmarks/text.py --only coco --mode-seeking 1e-4    # MSGAN's term in G's adversarial loss
    python benchmarks/text.py --device cuda            # the full protocol (GPU)

The published runs use ~150 MLE epochs and 2,000-5,000 adversarial steps; on a CPU use
fewer and label the row as reduced (the table prints the steps of every row).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from sparring import hookimpl  # noqa: E402

PUBLISHED = {
    "oracle": [("MLE (SeqGAN paper)", {"nll_oracle": 9.04}),
               ("SeqGAN (SeqGAN paper)", {"nll_oracle": 8.74}),
               ("RelGAN(100) (RelGAN paper, about)", {"nll_oracle": 6.68})],
    "coco": [("RelGAN(100) (RelGAN paper)", {"bleu2": 0.849, "bleu3": 0.687, "bleu4": 0.502}),
             ("SeqGAN (Texygen)", {"bleu2": 0.745, "bleu3": 0.498, "bleu4": 0.294, "bleu5": 0.180}),
             ("LeakGAN (Texygen)", {"bleu2": 0.746, "bleu3": 0.528, "bleu4": 0.355, "bleu5": 0.230}),
             ("training set itself (Texygen)", {"bleu2": 0.740, "bleu3": 0.520, "bleu4": 0.337, "bleu5": 0.218})],
}
COLUMNS = {"oracle": ["nll_oracle", "nll_gen"],
           "coco": ["bleu2", "bleu3", "bleu4", "bleu5", "self_bleu2", "self_bleu3", "nll_gen"]}


def _config(args, case: str, out: str) -> dict:
    if case == "oracle":
        dataset = {"name": "oracle"}
    else:
        dataset = {"name": "coco", "root": args.coco_root, "tokenizer": "word", "vocab_size": 5000, "max_len": 37}
    return {
        "modality": "text", "out": out, "device": args.device, "seed": args.seed,
        "trainer": {"steps": args.adv_steps, "precision": args.precision, "batch_size": args.batch_size,
                    "pretrain_steps": args.pretrain_steps,
                    "lr_pretrain": args.lr_pretrain, "lr_g": args.lr_adv, "lr_d": args.lr_adv,
                    "betas_g": [0.9, 0.999], "betas_d": [0.9, 0.999], "loss": "rsgan", "grad_clip": 5.0,
                    "n_critic": args.n_critic, "pack": args.pack, "mode_seeking": args.mode_seeking,
                    "ema_halflife": 0.0, "log_every": 50, "sample_every": 10**9, "checkpoint_every": 10**9,
                    "progress": False},
        "generator": {"name": args.generator, "embed_dim": args.embed_dim, "hidden_dim": args.hidden_dim,
                      "beta_max": args.beta_max, "schedule": "exponential", "anneal_steps": args.anneal_steps,
                      "straight_through": args.straight_through},
        "discriminator": {"name": "relgan", "num_rep": args.num_rep, "embed_dim": args.d_embed_dim,
                          "num_filters": [args.num_filters] * 4},
        "dataset": dataset,
    }


def _ids(trainer, n: int, seed: int):
    import torch

    chunks = [trainer.sample(min(250, n - s), seed=seed + s).argmax(-1) for s in range(0, n, 250)]
    return torch.cat(chunks)


def measure(trainer, case: str, n: int) -> dict:
    from sparring_text.metrics import _words, generator_nll, self_bleu

    ds = trainer.dataset
    ids = _ids(trainer, n, trainer.config.seed + 2)
    out = {"nll_gen": generator_nll(trainer.G, ds.test_ids, seed=trainer.config.seed)}
    if case == "oracle":
        out["nll_oracle"] = ds.oracle.nll(ids)
        return out
    words = _words(ds, ids)
    out.update({f"bleu{k}": v for k, v in _references(ds).corpus_mean(words).items()})
    out.update({f"self_bleu{k}": v for k, v in self_bleu(words).items()})
    return out


_REFS = {}


def _references(ds):
    from sparring_text.metrics import BleuReferences, bleu_tokens

    if id(ds) not in _REFS:
        _REFS[id(ds)] = BleuReferences([bleu_tokens(t) for t in ds.test_texts])
    return _REFS[id(ds)]


def reference_rows(trainer, case: str, n: int) -> list:
    """What real data score: the floor (oracle) or the ceiling/diversity (COCO)."""
    import torch
    from sparring_text.metrics import _words, bleu_tokens, self_bleu

    ds = trainer.dataset
    if case == "oracle":
        return [("oracle data itself (held out)", {"nll_oracle": ds.oracle.nll(ds.test_ids)})]
    g = torch.Generator().manual_seed(0)
    train = _words(ds, ds.ids[torch.randperm(len(ds), generator=g)[:n]])
    test = [bleu_tokens(t) for t in ds.test_texts]
    test = [test[i] for i in torch.randperm(len(test), generator=g)[:n].tolist()]
    row = {f"bleu{k}": v for k, v in _references(ds).corpus_mean(train).items()}
    row.update({f"self_bleu{k}": v for k, v in self_bleu(train).items()})
    test_self = {f"self_bleu{k}": v for k, v in self_bleu(test).items()}
    return [(f"training captions ({n}) vs test", row), (f"test captions ({n}), Self-BLEU", test_self)]


def scored_samples(trainer, n: int, seed: int):
    """``n`` sampled ids (as ``trainer.sample`` draws them) with two scores each: the
    sampling G's own mean per-token NLL of the sample (tokens up to and including the
    first pad, under the z that drew it) and D's mean logit (higher: more real)."""
    import torch
    import torch.nn.functional as F

    G, D = trainer.sampler, trainer.D
    rng = torch.Generator().manual_seed(seed)
    modes = (G.training, D.training)
    G.eval(), D.eval()
    ids, nll, critic = [], [], []
    try:
        with torch.no_grad():
            for start in range(0, n, 250):
                z = trainer.latent(min(250, n - start), rng)
                x = G(z).float()
                tokens = x.argmax(-1)
                logits = G.teacher_logits(z, tokens).float()
                token_nll = F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
                # A sample ends at its first pad (id 0): count the tokens up to it, the pad too.
                ended = (tokens == 0).long().cumsum(1)
                counted = (ended == 0) | ((ended == 1) & (tokens == 0))
                nll.append((token_nll * counted).sum(1) / counted.sum(1).clamp(min=1))
                critic.append(D(x).float().mean(-1))
                ids.append(tokens)
    finally:
        G.train(modes[0]), D.train(modes[1])
    return torch.cat(ids).cpu(), {"nll": torch.cat(nll).cpu(), "d": -torch.cat(critic).cpu()}


def measure_reranked(trainer, n: int, keeps: list, by: list) -> list:
    """Rejection by score: draw n / keep samples, keep the n the scorer likes best.

    ``nll``: the lowest own NLL per token (G's likelihood of its own sentence); ``d``: the
    highest D logit (discriminator rejection sampling, Azadi et al. 2019, as a top-k)."""
    from sparring_text.metrics import _words, self_bleu

    if not keeps or not by:
        return []
    pool_ids, scores = scored_samples(trainer, int(round(n / min(keeps))), trainer.config.seed + 2)
    rows = []
    for scorer in by:
        for keep in keeps:
            drawn = int(round(n / keep))
            chosen = scores[scorer][:drawn].argsort(stable=True)[:n]
            words = _words(trainer.dataset, pool_ids[chosen])
            row = {f"bleu{k}": v for k, v in _references(trainer.dataset).corpus_mean(words).items()}
            row.update({f"self_bleu{k}": v for k, v in self_bleu(words).items()})
            rows.append((f"reranked by {'own NLL' if scorer == 'nll' else 'D'}, best {n} of {drawn}", row))
    return rows


def labelled_reranked(trainer, args, label: str, by=None) -> list:
    """``measure_reranked`` rows named after the generator measured, each printed as it lands."""
    rows = []
    for name, row in measure_reranked(trainer, args.samples, args.rerank_keep, args.rerank_by if by is None else by):
        rows.append((f"{label}, {name}", row))
        print(f"[coco] {label}, {name}: {json.dumps(row)}", file=sys.stderr, flush=True)
    return rows


@contextlib.contextmanager
def sampling_temperature(trainer, temperature: float):
    """G's logits divided by ``temperature`` while measuring (sampling and NLL-gen alike).

    MLE sampled below temperature 1 trades diversity for quality with no training at all
    (Caccia et al. 2018, "Language GANs falling short"): the row a GAN's NLL-oracle must be
    read beside, since sharper samples alone lower it."""
    models = [m for m in (trainer.G, trainer.ema.model if trainer.ema is not None else None) if m is not None]
    saved = [(m, m.step, m.teacher_logits) for m in models]
    for m, step, teacher in saved:
        def cooled_step(inp, state, _step=step):
            logits, state = _step(inp, state)
            return logits / temperature, state

        m.step = cooled_step
        m.teacher_logits = lambda z, ids, _teacher=teacher: _teacher(z, ids) / temperature
    try:
        yield
    finally:
        for m, step, teacher in saved:
            del m.step, m.teacher_logits  # back to the class's methods


def _time_first_step(trainer) -> dict:
    """Time the trainer's next step (synchronised on CUDA); the result lands in the dict."""
    import torch

    timed, step = {}, trainer.train_step

    def first_then_plain():
        start = time.perf_counter()
        logs = step()
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)
        timed["s"] = time.perf_counter() - start
        trainer.train_step = step  # every later step untouched
        return logs

    trainer.train_step = first_then_plain
    return timed


class Trajectory:
    """A throwaway plugin: measures the generator every ``every`` adversarial steps.

    One run then shows where along the temperature schedule each metric moves (the end
    row alone hides a peak or a collapse on the way)."""

    def __init__(self, every: int, samples: int, rerank_keep=(), rerank_by=()):
        self.every, self.samples = every, samples
        self.rerank_keep, self.rerank_by = list(rerank_keep), list(rerank_by)
        self.case, self.points = None, []

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        if self.case is None or not self.every or step % self.every or step >= trainer.config.trainer.steps:
            return
        point = {"step": step, **measure(trainer, self.case, self.samples)}
        # The losses logged at this step (when it is a log step): is D still telling real
        # from generated, or is it at chance (0.693 for RSGAN)?
        point.update({k: float(logs[k]) for k in ("d_loss", "g_loss", "grad_norm_g") if k in (logs or {})})
        self.points.append(point)
        print(f"[{self.case}] adversarial step {step}: {json.dumps(point)}", file=sys.stderr, flush=True)
        if self.case == "coco":
            for name, row in measure_reranked(trainer, self.samples, self.rerank_keep, self.rerank_by):
                self.points.append({"step": step, "rerank": name, **row})
                print(f"[{self.case}] adversarial step {step}, {name}: {json.dumps(row)}", file=sys.stderr, flush=True)


def run_case(args, case: str, registry, trajectory: Trajectory | None = None) -> list:
    from sparring.config import resolve
    from sparring.train import Trainer

    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(resolve(_config(args, case, out), registry), registry)
        trainer.metrics, trainer.writer = [], None  # measured below, on more samples
        rows = reference_rows(trainer, case, args.samples)
        start = time.perf_counter()
        trainer.deadline = start + 60 * args.mle_minutes if args.mle_minutes > 0 else None
        trainer.pretrain(None)
        mle_time = time.perf_counter() - start
        trainer.config.trainer.pretrain_steps = trainer.pretrain_step  # where a time limit ended MLE
        mle = measure(trainer, case, args.samples)
        rows.append((f"ours: MLE, {trainer.pretrain_step} steps, {mle_time / 60:.1f} min", mle))
        print(f"[{case}] MLE: {json.dumps(mle)}", file=sys.stderr, flush=True)
        for t in args.mle_temperatures:
            with sampling_temperature(trainer, t):
                cooled = measure(trainer, case, args.samples)
            rows.append((f"ours: the same MLE sampled at temperature {t:g}", cooled))
            print(f"[{case}] MLE at temperature {t:g}: {json.dumps(cooled)}", file=sys.stderr, flush=True)
        if case == "coco":  # D is untrained here: only G's own likelihood can rerank
            rows += labelled_reranked(trainer, args, "ours: the same MLE", [b for b in args.rerank_by if b == "nll"])
        first_step = _time_first_step(trainer)
        if trajectory is not None:
            trajectory.case, trajectory.points = case, []
        start = time.perf_counter()
        trainer.deadline = start + 60 * args.adv_minutes if args.adv_minutes > 0 else None
        trainer.train()
        adv_time = time.perf_counter() - start
        if "s" in first_step:  # warm-up (kernel selection, allocation) shows here, not in the mean
            print(f"[{case}] first adversarial step: {first_step['s']:.2f} s; all {trainer.step}: "
                  f"{adv_time:.1f} s", file=sys.stderr, flush=True)
        if trainer.step < trainer.config.trainer.steps and not trainer.out_of_time:  # SIGINT/SIGTERM
            raise SystemExit(f"[{case}] stopped at step {trainer.step} of {trainer.config.trainer.steps}; "
                             "no rows printed")
        if trajectory is not None:
            trajectory.case = None
        gan = measure(trainer, case, args.samples)
        rows.append((f"ours: Gumbel GAN after it, +{trainer.step} adv. steps, {adv_time / 60:.1f} min", gan))
        print(f"[{case}] GAN: {json.dumps(gan)}", file=sys.stderr, flush=True)
        if case == "coco":
            rows += labelled_reranked(trainer, args, "ours: the same GAN")
    return rows


def table(case: str, rows: list) -> str:
    cols = COLUMNS[case]
    lines = ["| " + " | ".join(["row"] + cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for name, values in rows:
        cells = [f"{values[c]:.3f}" if c in values else "" for c in cols]
        lines.append("| " + " | ".join([name] + cells) + " |")
    return "\n".join(lines)


def _floats(text: str) -> list:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of numbers, got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"temperatures must be > 0, got {text!r}")
    return values


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["oracle", "coco"], help="one case (default both)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pretrain-steps", type=int, default=1500)
    p.add_argument("--adv-steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr-pretrain", type=float, default=1e-2)
    p.add_argument("--lr-adv", type=float, default=1e-4)
    p.add_argument("--beta-max", type=float, default=100.0)
    p.add_argument("--anneal-steps", type=int, default=0,
                   help="span of the temperature schedule in steps (0: the adversarial steps; RelGAN's code: 5000)")
    p.add_argument("--n-critic", type=int, default=1,
                   help="D updates per G update in the adversarial phase (RelGAN's code: 5)")
    p.add_argument("--pack", type=int, default=1,
                   help="PacGAN: D reads this many samples as one sequence (divides --batch-size)")
    p.add_argument("--mode-seeking", type=float, default=0.0,
                   help="trainer.mode_seeking: weight of MSGAN's term in G's adversarial loss (0: off)")
    p.add_argument("--straight-through", action="store_true",
                   help="D reads the sampled one-hots; gradients follow the relaxed ones")
    p.add_argument("--generator", default="lstm")
    p.add_argument("--embed-dim", type=int, default=32)
    p.add_argument("--hidden-dim", type=int, default=32)
    p.add_argument("--num-rep", type=int, default=16)
    p.add_argument("--d-embed-dim", type=int, default=32)
    p.add_argument("--num-filters", type=int, default=100)
    p.add_argument("--samples", type=int, default=1000, help="generated samples measured per row")
    p.add_argument("--coco-root", default="../shared/data/coco_captions")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                   help="trainer.precision (auto: bf16 on CUDA)")
    p.add_argument("--eval-every", type=int, default=0,
                   help="also measure every N adversarial steps and print the trajectory (0: end only)")
    p.add_argument("--mle-temperatures", type=_floats, default=[],
                   help="comma list: also measure the MLE generator sampled at these temperatures")
    p.add_argument("--rerank-keep", type=_floats, default=[],
                   help="COCO: also measure the best n of n/keep samples for each keep (e.g. 0.8,0.6)")
    p.add_argument("--rerank-by", type=lambda t: [b for b in t.split(",") if b], default=["nll", "d"],
                   help="scores for --rerank-keep: nll (G's own per-token NLL), d (D's logit)")
    p.add_argument("--json", help="append every row and trajectory point here, one JSON object a line")
    p.add_argument("--mle-minutes", type=float, default=0.0,
                   help="end MLE pre-training after this many minutes (0: run every step); rows say the steps")
    p.add_argument("--adv-minutes", type=float, default=0.0,
                   help="end adversarial training after this many minutes (0: run every step)")
    args = p.parse_args(argv)
    if any(k > 1 for k in args.rerank_keep):
        p.error(f"--rerank-keep: fractions of the samples drawn, each in (0, 1], got {args.rerank_keep}")
    if set(args.rerank_by) - {"nll", "d"}:
        p.error(f"--rerank-by: expected nll and/or d, got {','.join(args.rerank_by)}")

    import torch
    from sparring.registry import load_registry

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    trajectory = Trajectory(args.eval_every, args.samples, args.rerank_keep, args.rerank_by) if args.eval_every else None
    registry = load_registry(extra_plugins=[("trajectory", trajectory)] if trajectory else ())
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"hardware: {device}, torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"generator {args.generator} (embed {args.embed_dim}, hidden {args.hidden_dim}), batch {args.batch_size}, "
          f"beta_max {args.beta_max} over {args.anneal_steps or args.adv_steps} steps, n_critic {args.n_critic}, pack {args.pack}, mode seeking {args.mode_seeking:g}, {args.samples} samples per row")
    for case in ([args.only] if args.only else ["oracle", "coco"]):
        ours = run_case(args, case, registry, trajectory)
        rows = PUBLISHED[case] + ours
        print(f"\n{case}\n" + table(case, rows), flush=True)
        points = trajectory.points if trajectory else []
        if points:
            steps = [(f"adversarial step {p['step']}" + (f", {p['rerank']}" if "rerank" in p else ""), p)
                     for p in points]
            print(f"\n{case}, along the adversarial phase ({args.samples} samples a point)\n"
                  + table(case, steps), flush=True)
        if args.json:
            with open(args.json, "a") as f:
                for name, values in ours:
                    f.write(json.dumps({"case": case, "row": name, **values, "args": vars(args)}) + "\n")
                for p in points:
                    name = f"adversarial step {p['step']}" + (f", {p['rerank']}" if "rerank" in p else "")
                    f.write(json.dumps({"case": case, "row": name, **p,
                                        "args": vars(args)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
