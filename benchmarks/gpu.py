"""Samples per second on a GPU: a plain fp32 eager PyTorch loop against sparring's fast path.

Both train the image plugin's DCGAN at 64x64 and SNGAN at 32x32 (3 channels) on random
in-memory data kept on the GPU, with the non-saturating loss, Adam, one D update per G
update, no EMA, and the loss read on the host every 10 steps. The plain loop is what users
copy (pytorch/examples' DCGAN): fp32, eager, torch's default Adam. Sparring runs through
its Trainer with hooks dispatched and metrics.jsonl written. The ablation adds one fast-path
option at a time; the main table compares, per model and batch size, the plain loop,
sparring's CUDA defaults (bf16 autocast, channels-last, fused Adam, no host sync in the
step) and those plus the whole step captured as one CUDA graph (``trainer.cuda_graph``);
torch.compile (default and reduce-overhead modes) are measured as alternatives to the
graph at the ablation's batch size. Model FLOPs per step are counted by torch's
FlopCounterMode on the plain step; utilisation is against this card's measured bf16
matmul rate. Each configuration is timed after warm-up (compilation included there) with
the GPU synchronised at both ends. A time budget stops starting new rows, so a lease's
minutes are never overrun; what was measured is printed and saved as it comes.

    python benchmarks/gpu.py --json gpu.json          # on a CUDA machine
    python benchmarks/gpu.py --device cpu --tiny      # checks the script on a CPU
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
for extra in (HERE, HERE.parent / "core", HERE.parent / "plugins" / "image"):
    if str(extra) not in sys.path:
        sys.path.append(str(extra))  # runs from a bare checkout too (no pip install needed)

import torch  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from overhead import PlainLoop  # noqa: E402
from sparring import DatasetSpec, hookimpl  # noqa: E402
from sparring.config import resolve  # noqa: E402
from sparring.registry import load_registry  # noqa: E402
from sparring.train import Trainer  # noqa: E402

MODELS = {  # name: (plugin model, image size)
    "DCGAN-64": ("dcgan", 64),
    "SNGAN-32": ("sngan", 32),
}
# Each row adds one option to the one before; the keys are sparring config keys.
ABLATION = [
    ("sparring fp32 eager", {"precision": "fp32", "channels_last": "no", "fused_optimizer": "no",
                             "finite_check": "step"}),
    ("+ bf16 autocast", {"precision": "bf16"}),
    ("+ channels-last", {"channels_last": "yes"}),
    ("+ fused Adam, no host sync", {"fused_optimizer": "yes", "finite_check": "log"}),
    ("+ whole step as one CUDA graph", {"cuda_graph": True}),
]
# Alternatives to the whole-step graph, each on top of the fused row.
COMPILE_ROWS = [
    ("+ torch.compile (instead of the graph)", {"compile": True}),
    ("+ compile reduce-overhead (instead)", {"compile": True, "compile_mode": "reduce-overhead"}),
]
DEFAULTS = "sparring defaults (auto)"
GRAPHED = "sparring defaults + cuda_graph"
# torch.compile's fused kernels (default mode) replayed inside the whole-step graph: the
# graph removes the host, compile cuts the memory-bound elementwise and norm kernels that
# dominate once the batch is large.
COMPILED_GRAPH = "defaults + compile + cuda_graph"
# The graph without channels-last: at large batches the layout decides which cuDNN
# kernels (and batch-norm kernels) run.
GRAPHED_NCHW = "bf16 + cuda_graph, NCHW"
TABLE_VARIANTS = (DEFAULTS, GRAPHED, GRAPHED_NCHW, COMPILED_GRAPH)


@dataclasses.dataclass
class RandomImagesConfig:
    n: int = 4096
    size: int = 64
    channels: int = 3


class RandomImages:
    """A throwaway plugin: random images in [-1, 1], held in memory (``.tensors``)."""

    @hookimpl
    def sparring_datasets(self):
        def build(cfg):
            g = torch.Generator().manual_seed(0)
            x = torch.rand(cfg.n, cfg.channels, cfg.size, cfg.size, generator=g) * 2 - 1
            return TensorDataset(x)

        yield DatasetSpec("bench-random", "image", build, RandomImagesConfig,
                          description="random images for throughput benchmarks")


class Stopwatch:
    """Times steps ``warmup + 1 .. warmup + timed`` from inside the loop, GPU synchronised."""

    def __init__(self, warmup: int, timed: int):
        self.warmup, self.timed = warmup, timed
        self.start = self.seconds = None

    @hookimpl
    def sparring_step_end(self, trainer, step, logs):
        if step == self.warmup:
            synchronize(trainer.device)
            self.start = time.perf_counter()
        elif step == self.warmup + self.timed:
            synchronize(trainer.device)
            self.seconds = time.perf_counter() - self.start


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, tiny: bool) -> float:
    """Measured dense matmul rate in FLOP/s: bf16 8192^3 on CUDA (fp32 512^3 on a CPU)."""
    n, dtype = (512, torch.float32) if device.type != "cuda" else (8192, torch.bfloat16)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    synchronize(device)
    reps = 3 if tiny else 10
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    synchronize(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - start)


def run_config(model: str, batch: int, device: str, tiny: bool, out: Path, **trainer):
    name, size = MODELS[model]
    width = {"channels": 8} if tiny else {}
    return {
        "modality": "image", "out": str(out), "seed": 0, "device": device, "metrics": [],
        "dataset": {"name": "bench-random", "size": size, "n": max(4 * batch, 256)},
        "generator": {"name": name, **width},
        "discriminator": {"name": name, **width},
        "trainer": {"batch_size": batch, "loss": "ns", "ema_halflife": 0.0, "conditional": "no",
                    "log_every": 10, "eval_every": -1, "sample_every": 10**9, "n_samples": 16,
                    "checkpoint_every": 10**9, "progress": False, **trainer},
    }


def time_sparring(model, batch, args, tmp: Path, keys: dict) -> dict:
    watch = Stopwatch(args.warmup, args.timed)
    registry = load_registry(extra_plugins=[("random-images", RandomImages()), ("stopwatch", watch),
                                            *image_plugin()], entry_points=False)
    raw = run_config(model, batch, args.device, args.tiny, tmp / "run", steps=args.warmup + args.timed, **keys)
    trainer = Trainer(resolve(raw, registry), registry)
    trainer.train()
    plain_eager = not trainer.config.trainer.compile and trainer.graphs is None
    sync_check = check_no_sync(trainer) if trainer.lazy_finite and plain_eager else None
    result = {"seconds": watch.seconds, "samples_per_s": batch * args.timed / watch.seconds,
              "step_ms": 1e3 * watch.seconds / args.timed, "precision": trainer.precision,
              "channels_last": trainer.channels_last, "fused": trainer.fused,
              "lazy_finite": trainer.lazy_finite, "compile": trainer.config.trainer.compile,
              "compile_mode": trainer.config.trainer.compile_mode, "cuda_graph": trainer.graphs is not None,
              "peak_mem_gib": peak_memory_gib(trainer.device)}
    if sync_check is not None:
        result["host_syncs_in_step"] = sync_check
    return result


def time_sparring_isolated(model, batch, args, keys: dict) -> dict:
    """``time_sparring`` in a child process killed after ``--row-timeout`` seconds.

    For the compile rows: compilation can take minutes, and a trainer stops on SIGTERM
    only between steps, so one slow option could otherwise spend a whole GPU lease."""
    spec = {"model": model, "batch": batch, "keys": keys, "device": args.device, "tiny": args.tiny,
            "warmup": args.warmup, "timed": args.timed}
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one-row", json.dumps(spec)],
                              capture_output=True, text=True, timeout=args.row_timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.row_timeout:g} s (--row-timeout; its process was killed)"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"row process exited {proc.returncode}: {tail[:200]}"}
    return json.loads(lines[-1])


def one_row(spec_json: str) -> None:
    """The child side of ``time_sparring_isolated``: time one row, print it as JSON."""
    spec = json.loads(spec_json)
    args = argparse.Namespace(device=spec["device"], tiny=spec["tiny"], warmup=spec["warmup"], timed=spec["timed"])
    if torch.device(args.device).type == "cpu":
        torch.set_num_threads(1)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        row = time_sparring(spec["model"], spec["batch"], args, Path(tmp), spec["keys"])
    print(json.dumps(row), flush=True)


def check_no_sync(trainer) -> str:
    """On CUDA, run two steps with torch's sync debugger set to raise on any host sync."""
    if trainer.device.type != "cuda":
        return "not checked (CPU)"
    trainer.stream.next()  # an epoch boundary may copy the new permutation: not in the step
    x, _ = trainer.stream.next()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            finite = trainer.d_step(x, None)["finite"] & trainer.g_step(x, None)["finite"]
            trainer._guard(finite)
        return "none"
    except RuntimeError as exc:
        return f"sync: {str(exc).splitlines()[0][:120]}"
    finally:
        torch.cuda.set_sync_debug_mode("default")


def time_plain(model, batch, args, tmp: Path) -> dict:
    """The plain loop, with the models and data of an fp32 eager sparring config."""
    registry = load_registry(extra_plugins=[("random-images", RandomImages()), *image_plugin()],
                             entry_points=False)
    raw = run_config(model, batch, args.device, args.tiny, tmp / "plain", steps=1, precision="fp32",
                     channels_last="no", fused_optimizer="no", finite_check="step")
    trainer = Trainer(resolve(raw, registry), registry)
    plain = PlainLoop(trainer)
    plain.log = open(os.devnull, "w")
    with FlopCounterMode(display=False) as counter:
        plain.train_step()
    flops = counter.get_total_flops()
    device = trainer.device
    for _ in range(args.warmup):
        plain.train_step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(args.timed):
        plain.train_step()
    synchronize(device)
    seconds = time.perf_counter() - start
    plain.log.close()
    return {"seconds": seconds, "samples_per_s": batch * args.timed / seconds,
            "step_ms": 1e3 * seconds / args.timed, "flops_per_step": flops,
            "peak_mem_gib": peak_memory_gib(device)}


def peak_memory_gib(device) -> float | None:
    if torch.device(device).type != "cuda":
        return None
    peak = torch.cuda.max_memory_allocated() / 2**30
    torch.cuda.reset_peak_memory_stats()
    return peak


def image_plugin():
    """The image plugin, registered by hand: the script runs from a bare checkout too."""
    from sparring_image import plugin

    return [("sparring-image", plugin)]


class Bench:
    def __init__(self, args):
        self.args = args
        self.started = time.perf_counter()
        self.results: list[dict] = []
        self.peak = None
        self.flops: dict = {}

    def over_budget(self) -> bool:
        return time.perf_counter() - self.started > self.args.budget

    def measure(self, model: str, batch: int, variant: str, keys: dict | None, same_as: str = "") -> dict | None:
        """Time one row (``keys`` None: the plain loop); ``same_as`` names an identical row to reuse."""
        for r in self.results:
            if (r["model"], r["batch"], r["variant"]) == (model, batch, variant):
                return r
            if same_as and (r["model"], r["batch"], r["variant"]) == (model, batch, same_as):
                row = {**r, "variant": variant, "same_run_as": same_as}
                self.results.append(row)
                self._print_row(row)
                return row
        if self.over_budget():
            print(f"  skipped {model} b{batch} {variant}: time budget spent", flush=True)
            return None
        torch.manual_seed(0)
        began = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                if keys is None:
                    row = time_plain(model, batch, self.args, Path(tmp))
                    self.flops[model, batch] = row["flops_per_step"]
                elif keys.get("compile") and self.args.row_timeout > 0:
                    row = time_sparring_isolated(model, batch, self.args, keys)
                else:
                    row = time_sparring(model, batch, self.args, Path(tmp), keys)
            except Exception as exc:  # one failing option must not cost the other rows
                traceback.print_exc()
                row = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"}
        row.update(model=model, batch=batch, variant=variant, wall_s=time.perf_counter() - began)
        flops = self.flops.get((model, batch))
        if flops and "samples_per_s" in row:
            row["mfu"] = flops * row["samples_per_s"] / batch / self.peak
        self.results.append(row)
        self._print_row(row)
        self.save()
        return row

    def _print_row(self, r):
        if "error" in r:
            print(f"  {r['model']:<9} b{r['batch']:<5} {r['variant']:<34} FAILED {r['error']}", flush=True)
            return
        base = self.plain_rate(r["model"], r["batch"])
        speedup = f"{r['samples_per_s'] / base:6.2f}x" if base else "     -"
        mfu = f"{100 * r['mfu']:5.1f}%" if "mfu" in r else "    -"
        sync = r.get("host_syncs_in_step", "")
        print(f"  {r['model']:<9} b{r['batch']:<5} {r['variant']:<34} {r['samples_per_s']:>10.0f} samples/s "
              f"{r['step_ms']:>8.2f} ms/step  {speedup} vs plain  MFU {mfu}  (wall {r['wall_s']:.0f} s) {sync}",
              flush=True)

    def plain_rate(self, model, batch):
        for r in self.results:
            if (r["model"], r["batch"], r["variant"]) == (model, batch, "plain fp32 eager") and "samples_per_s" in r:
                return r["samples_per_s"]
        return None

    def save(self):
        if self.args.json:
            Path(self.args.json).write_text(json.dumps({"machine": self.machine(), "peak_flops": self.peak,
                                                        "results": self.results}, indent=1))

    def machine(self) -> dict:
        dev = torch.device(self.args.device)
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu"
        return {"device": name, "torch": torch.__version__, "cuda": torch.version.cuda,
                "python": platform.python_version()}


def markdown(bench: Bench, batches: list[int]) -> str:
    lines = ["| model | batch | plain fp32 eager | sparring defaults | + cuda_graph | + cuda_graph, NCHW "
             "| + compile + cuda_graph | best / plain | MFU (best) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for model in MODELS:
        for batch in batches:
            rows = {r["variant"]: r for r in bench.results
                    if r["model"] == model and r["batch"] == batch and "samples_per_s" in r}
            plain = rows.get("plain fp32 eager")
            if plain is None:
                continue
            ours = [rows[v] for v in TABLE_VARIANTS if v in rows]
            best = max(ours, key=lambda r: r["samples_per_s"]) if ours else None
            cell = lambda v: f"{rows[v]['samples_per_s']:,.0f}" if v in rows else "-"  # noqa: E731
            lines.append(f"| {model} | {batch} | {plain['samples_per_s']:,.0f} | "
                         + "".join(f"{cell(v)} | " for v in TABLE_VARIANTS)
                         + (f"{best['samples_per_s'] / plain['samples_per_s']:.2f}x | {100 * best.get('mfu', 0):.1f}% |"
                            if best else "- | - |"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batches", default="64,256,1024", help="batch sizes of the main table")
    parser.add_argument("--ablation-batch", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=25, help="untimed steps (compilation happens here)")
    parser.add_argument("--timed", type=int, default=100, help="timed steps per row")
    parser.add_argument("--budget", type=float, default=480, help="seconds after which no new row starts")
    parser.add_argument("--tiny", action="store_true", help="narrow models, few steps: checks the script")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    parser.add_argument("--no-graph", action="store_true", help="skip the CUDA graph rows")
    parser.add_argument("--no-ablation", action="store_true", help="skip the one-option-at-a-time ablation and the compile-instead-of-graph rows")
    parser.add_argument("--models", default=",".join(MODELS), help="models of the main table")
    parser.add_argument("--row-timeout", type=float, default=240,
                        help="seconds after which a compile row's process is killed (0: no separate process)")
    parser.add_argument("--json", help="write every measurement here as it comes")
    parser.add_argument("--one-row", help=argparse.SUPPRESS)  # internal: the child of a compile row
    args = parser.parse_args()
    if args.one_row:
        one_row(args.one_row)
        return
    if args.tiny:
        args.warmup, args.timed = min(args.warmup, 3), min(args.timed, 4)
    batches = [int(b) for b in args.batches.split(",")]
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py: no CUDA device here (use --device cpu --tiny to check the script)")
    if device.type == "cpu":
        torch.set_num_threads(1)

    bench = Bench(args)
    bench.peak = matmul_peak(device, args.tiny)
    info = bench.machine()
    print(f"{info['device']}, torch {info['torch']}, CUDA {info['cuda']}; measured dense matmul "
          f"{bench.peak / 1e12:.1f} TFLOP/s ({'bf16 8192^3' if device.type == 'cuda' else 'fp32 512^3'}); "
          f"{args.warmup} warm-up + {args.timed} timed steps per row", flush=True)

    cuda = device.type == "cuda"
    graphs = cuda and not args.no_graph
    keys: dict = {}
    for _, extra in ABLATION:
        keys = {**keys, **extra}
    if not args.no_ablation:
        print(f"\nAblation, DCGAN-64 at batch {args.ablation_batch}: each row adds one option", flush=True)
        model, batch = "DCGAN-64", args.ablation_batch
        bench.measure(model, batch, "plain fp32 eager", None)
        keys = {}
        for variant, extra in ABLATION:
            keys = {**keys, **extra}
            if graphs or not keys.get("cuda_graph"):
                bench.measure(model, batch, variant, dict(keys))
    print("\nMain table: plain fp32 eager loop vs sparring's fast path", flush=True)
    fused_keys = {k: v for k, v in keys.items() if k != "cuda_graph"}
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        sys.exit(f"benchmarks/gpu.py: unknown model(s) {', '.join(unknown)} in --models; known: {', '.join(MODELS)}")
    for model in models:
        for batch in batches:
            bench.measure(model, batch, "plain fp32 eager", None)
            # On CUDA the defaults are the ablation's bf16 + channels-last + fused row.
            bench.measure(model, batch, DEFAULTS, {}, same_as=ABLATION[3][0] if cuda else "")
            if graphs:
                bench.measure(model, batch, GRAPHED, {"cuda_graph": True}, same_as=ABLATION[4][0])
                if batch >= 256:
                    bench.measure(model, batch, GRAPHED_NCHW, {"cuda_graph": True, "channels_last": "no"})
    if graphs and not args.no_compile:
        # Last, largest batches first (where the GPU work dominates): compiling costs tens of
        # seconds a row, so the budget cuts these first.
        for batch in sorted(batches, reverse=True):
            for model in models:
                bench.measure(model, batch, COMPILED_GRAPH, {"cuda_graph": True, "compile": True})
    if not args.no_compile and not args.no_ablation:
        print(f"\nAlternatives to the whole-step graph, DCGAN-64 at batch {args.ablation_batch}", flush=True)
        for variant, extra in COMPILE_ROWS:
            if cuda or extra.get("compile_mode") != "reduce-overhead":
                bench.measure("DCGAN-64", args.ablation_batch, variant, {**fused_keys, **extra})
    print("\n" + markdown(bench, batches))
    print(f"\ntotal {time.perf_counter() - bench.started:.0f} s")


if __name__ == "__main__":
    main()
