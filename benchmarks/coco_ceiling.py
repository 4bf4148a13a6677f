"""Where real captions land on COCO's BLEU-2 / Self-BLEU-2 plane, and what the goal asks.

The text issue's COCO goal is BLEU-2 >= 0.80 with Self-BLEU-2 no higher than the test
set's own. A generator that models the data perfectly samples like the training captions,
so this prints where sets of real training captions land (500 captions a set, the
benchmark's sample count, the same BLEU code as `benchmarks/text.py`):

- random: 500 training captions drawn at random (several draws: mean and spread);
- quality filter: 500 drawn from the training captions whose own BLEU-2 against the test
  file is in the top fraction: an ideal rejection sampler, one that knows the test file;
- curated: a greedy pick that trades a caption's BLEU-2 against how many of its words
  and word pairs the picked set already holds, i.e. a selection that optimises both
  numbers of the goal at once.

    python benchmarks/coco_ceiling.py
    python benchmarks/coco_ceiling.py --json benchmarks/results/coco_ceiling.jsonl
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from tqdm import tqdm

from sparring_text.metrics import BleuReferences, bleu_tokens, ngrams, self_bleu


def read_captions(path: Path) -> list[list[str]]:
    if not path.is_file():
        sys.exit(f"error: {path} not found (expected the COCO captions file; see --coco-root)")
    return [bleu_tokens(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def measure(captions: list[list[str]], chosen: list[int], scores: list[float]) -> tuple[float, float]:
    """BLEU-2 against the test file (mean of the per-caption scores) and Self-BLEU-2."""
    return (statistics.mean(scores[i] for i in chosen),
            self_bleu([captions[i] for i in chosen], (2,))[2])


def curated(captions, scores, pool: list[int], n: int, weight: float) -> list[int]:
    """Greedy: the caption whose BLEU-2 minus ``weight`` x (share of its unigrams and
    bigrams already in the picked set) is highest, n times."""
    grams = {i: set(ngrams(captions[i], 1)) | set(ngrams(captions[i], 2)) for i in pool}
    holders = defaultdict(list)  # gram -> candidates that hold it
    for i, gs in grams.items():
        for g in gs:
            holders[g].append(i)
    covered = dict.fromkeys(pool, 0)  # candidate -> how many of its grams are picked already
    seen, picked, left = set(), [], set(pool)
    for _ in range(n):
        best = max(left, key=lambda i: (scores[i] - weight * covered[i] / max(1, len(grams[i])), -i))
        left.discard(best)
        picked.append(best)
        for g in grams[best] - seen:
            seen.add(g)
            for j in holders[g]:
                covered[j] += 1
    return picked


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--coco-root", default="../shared/data/coco_captions")
    p.add_argument("--samples", type=int, default=500, help="captions a set (the text benchmark's count)")
    p.add_argument("--draws", type=int, default=5, help="random draws a row")
    p.add_argument("--keep", default="0.8,0.6,0.4,0.2", help="top fractions for the quality filter")
    p.add_argument("--weights", default="0.3,0.6,1.0", help="diversity weights of the curated pick")
    p.add_argument("--pool", type=int, default=3000, help="candidates the curated pick chooses among")
    p.add_argument("--json", help="append every row here, one JSON object a line")
    args = p.parse_args(argv)

    root = Path(args.coco_root)
    train, test = read_captions(root / "train.txt"), read_captions(root / "test.txt")
    if args.samples > min(len(train), len(test)):
        sys.exit(f"error: --samples {args.samples} is more than the {min(len(train), len(test))} captions "
                 f"of the smaller file under {root}")
    refs = BleuReferences(test)
    scores = [refs.sentence_bleu(c, (2,))[2] for c in tqdm(train, desc="BLEU-2 of each training caption", unit="caption")]
    ranked = sorted(range(len(train)), key=lambda i: (-scores[i], i))
    test_draws = [self_bleu(random.Random(d).sample(test, args.samples), (2,))[2] for d in range(args.draws)]
    test_self = statistics.mean(test_draws)
    rows = []

    def row(name, pairs):
        b, s = zip(*pairs)
        spread = (f" ± {statistics.stdev(b):.3f}" if len(b) > 1 else "",
                  f" ± {statistics.stdev(s):.3f}" if len(s) > 1 else "")
        rows.append({"row": name, "bleu2": statistics.mean(b), "self_bleu2": statistics.mean(s),
                     "draws": len(pairs), "bleu2_sd": statistics.stdev(b) if len(b) > 1 else 0.0,
                     "self_bleu2_sd": statistics.stdev(s) if len(s) > 1 else 0.0})
        goal = statistics.mean(b) >= 0.80 and statistics.mean(s) <= test_self
        print(f"| {name} | {statistics.mean(b):.3f}{spread[0]} | {statistics.mean(s):.3f}{spread[1]} "
              f"| {'yes' if goal else 'no'} |", flush=True)

    start = time.perf_counter()
    print(f"\n{len(train)} training captions, {len(test)} test captions (references); "
          f"{args.samples} captions a set; the test set's own Self-BLEU-2 on {args.samples} "
          f"({args.draws} draws): {test_self:.3f} ± {statistics.stdev(test_draws) if args.draws > 1 else 0:.3f} (sd)\n"
          f"in the goal: BLEU-2 >= 0.80 and Self-BLEU-2 <= {test_self:.3f}\n")
    print("| set of real training captions | BLEU-2 | Self-BLEU-2 | in the goal |\n|---|---|---|---|")
    row(f"random ({args.draws} draws, mean ± sd)",
        [measure(train, random.Random(d).sample(range(len(train)), args.samples), scores)
         for d in range(args.draws)])
    for keep in (float(k) for k in args.keep.split(",")):
        pool = ranked[:int(len(ranked) * keep)]
        row(f"quality filter: top {keep:.0%} by own BLEU-2 (>= {scores[pool[-1]]:.3f}), random {args.samples}",
            [measure(train, random.Random(d).sample(pool, args.samples), scores) for d in range(args.draws)])
    candidates = [i for i in ranked if scores[i] >= 0.70]
    pool = random.Random(0).sample(candidates, min(args.pool, len(candidates)))
    for weight in tqdm([float(w) for w in args.weights.split(",")], desc="curated picks", leave=False):
        row(f"curated: greedy, diversity weight {weight} ({len(pool)} candidates with BLEU-2 >= 0.70)",
            [measure(train, curated(train, scores, pool, min(args.samples, len(pool)), weight), scores)])
    print(f"\n{time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({**r, "samples": args.samples, "test_self_bleu2": test_self}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
