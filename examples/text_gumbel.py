"""Train a Gumbel-softmax text GAN on a text file (one sample a line) and print samples.

    OMP_NUM_THREADS=1 python examples/text_gumbel.py                      # COCO captions
    python examples/text_gumbel.py --text my_lines.txt --tokenizer char --max-len 64
    python examples/text_gumbel.py --generator gpt2 --discriminator transformer
    python examples/text_gumbel.py --out /tmp/t --steps 2 --tiny        # a smoke test in seconds

The generator is first pre-trained with maximum likelihood (the core's pre-training
phase), then trained adversarially through the Gumbel-softmax relaxation (RSGAN loss,
inverse temperature annealed up to beta_max). The defaults are small enough for a CPU
in a few minutes; samples stay rough at this size. Without the shared COCO captions a
small built-in corpus is used, so the script runs on any fresh checkout. The run folder
keeps the tokenizer (tokenizer/), the samples (samples/*.txt, *.jsonl) and checkpoints;
`sparring sample RUN_DIR` and `sparring eval RUN_DIR` work on it afterwards.
"""
from __future__ import annotations

# requires: sparring_text

import argparse
import os
import random
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COCO = "../shared/data/coco_captions/train.txt"


def demo_corpus(path: Path, n: int = 2000) -> Path:
    """Template captions: enough structure for a GAN to learn in a few minutes."""
    rng = random.Random(0)
    who = ["a man", "a woman", "a dog", "a cat", "two children", "a bird", "an old man", "a young girl"]
    does = ["sitting on", "standing next to", "walking along", "looking at", "lying on", "playing near"]
    what = ["a bench", "the beach", "a red car", "the table", "a wooden fence", "the river", "a bus"]
    lines = [f"{rng.choice(who)} {rng.choice(does)} {rng.choice(what)} ." for _ in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default=COCO, help="a UTF-8 file, one sample a line")
    p.add_argument("--tokenizer", default="word", choices=["char", "word", "bpe"])
    p.add_argument("--vocab-size", type=int, default=2000)
    p.add_argument("--max-len", type=int, default=20)
    p.add_argument("--max-lines", type=int, default=3000, help="read at most this many lines (0: all)")
    p.add_argument("--generator", default="lstm", choices=["lstm", "gpt2"])
    p.add_argument("--discriminator", default="relgan", choices=["relgan", "transformer"])
    p.add_argument("--pretrain-steps", type=int, default=300)
    p.add_argument("--steps", type=int, default=50, help="adversarial steps")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--out", default="runs/text-gumbel-example")
    p.add_argument("-n", type=int, default=10, help="samples to print")
    p.add_argument("--tiny", action="store_true", help="300 lines, 4 pre-training steps: a smoke test")
    args = p.parse_args(argv)
    if args.tiny:
        args.max_lines, args.pretrain_steps, args.vocab_size, args.n = 300, 4, 200, 3

    from sparring.config import resolve
    from sparring.registry import load_registry
    from sparring.train import Trainer
    from sparring_text.data import resolve_path

    text = resolve_path(args.text)
    if not text.is_file():
        text = demo_corpus(Path(tempfile.mkdtemp()) / "captions.txt")
        print(f"{args.text} not found: using a built-in demo corpus ({text})")
    small = {"lstm": {"embed_dim": 32, "hidden_dim": 64}, "gpt2": {"n_embd": 64, "n_layer": 2, "n_head": 2},
             "relgan": {"num_rep": 4, "embed_dim": 16, "num_filters": [32, 32, 32, 32]},
             "transformer": {"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64}}
    raw = {
        "modality": "text", "out": args.out, "seed": 0, "metrics": ["bleu"],
        "trainer": {"steps": args.steps, "batch_size": args.batch_size, "pretrain_steps": args.pretrain_steps,
                    "lr_pretrain": 1e-2, "lr_g": 5e-4, "lr_d": 5e-4, "betas_g": [0.9, 0.999],
                    "betas_d": [0.9, 0.999], "grad_clip": 5.0, "ema_halflife": 0.0, "eval_samples": 200,
                    "sample_every": max(args.steps // 2, 1), "n_samples": 64, "log_every": 10},
        "generator": {"name": args.generator, **small[args.generator], "beta_max": 100.0},
        "discriminator": {"name": args.discriminator, **small[args.discriminator]},
        "dataset": {"name": "text-file", "path": str(text), "tokenizer": args.tokenizer,
                    "vocab_size": args.vocab_size, "max_len": args.max_len, "max_lines": args.max_lines,
                    "too_long": "truncate"},
    }
    registry = load_registry()
    trainer = Trainer(resolve(raw, registry), registry, resume=(Path(args.out) / "checkpoints").is_dir())
    metrics = trainer.train()
    print(f"run folder: {trainer.run_dir} (tokenizer saved in {trainer.run_dir / 'tokenizer'})")
    print("BLEU-2 vs held-out text: {:.3f}, Self-BLEU-2: {:.3f}".format(metrics["bleu2"], metrics["self_bleu2"]))
    samples = trainer.sample(args.n, seed=123).argmax(-1)
    for row in samples.tolist():
        print("  " + trainer.dataset.decode(row))


if __name__ == "__main__":
    main()
