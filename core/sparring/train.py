"""The adversarial training loop, for every modality.

Read it top to bottom: ``Trainer.__init__`` builds everything from the resolved
configuration; ``train`` runs the steps. One step is ``n_critic`` discriminator updates
(fake batch detached, penalty on its lazy interval) followed by ``g_steps`` generator
updates (one by default), then the EMA of G, logging, samples, evaluation and
checkpoints. Nothing here knows about pixels, notes, voxels or tokens: the modality's
specs supply all of that.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import math
import random
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt
from . import distributed
from .config import NONE, RunConfig, to_toml
from .data import BatchStream
from .ema import EMA
from .errors import ConfigError, SparringError, TrainingDiverged
from .latents import check_truncation, truncated_normal
from .layers import compile_with_spectral_norm
from .losses import (feature_matching_loss, imle_loss, imle_view, mode_seeking_loss, nearest_candidate, top_k_fraction,
                     top_k_logits)
from .outputs import logits_of, split_output
from .rejection import candidates, check_d_keep, keep_most_real
from .schedules import lr_factor
from .specs import DataInfo


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"config key 'device': unknown device '{name}' (auto, cpu, cuda, cuda:N, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"config key 'device' is '{name}' but CUDA is not available here")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"config key 'device' is '{name}' but this machine has "
                          f"{torch.cuda.device_count()} CUDA device(s): cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    return device


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """PacGAN: m consecutive samples become one, concatenated along dimension 1."""
    if m == 1:
        return x
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


def _accepts_dataset(fn) -> bool:
    try:
        return "dataset" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class Trainer:
    """Builds a run from a resolved :class:`RunConfig` and trains it."""

    def __init__(self, config: RunConfig, registry=None, resume: bool = False):
        from .registry import load_registry

        self.config = config
        self.registry = registry or load_registry()
        self.registry.pm.hook.sparring_configure.call_historic(kwargs={"config": config})
        self.run_dir = Path(config.out)
        t = config.trainer
        # Under torchrun every rank runs this same code on its slice of each batch.
        self.dist = distributed.init_from_env(config.device)
        self.device = resolve_device(config.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        if t.batch_size % (self.dist.world * t.grad_accum):
            raise ConfigError(f"config key 'trainer.batch_size' ({t.batch_size}) must be divisible by the "
                              f"number of ranks times trainer.grad_accum ({self.dist.world} x {t.grad_accum})")
        if t.mode_seeking > 0 and t.batch_size // (self.dist.world * t.grad_accum) < 2:
            raise ConfigError(f"config key 'trainer.mode_seeking' pairs samples within a micro-batch, which "
                              f"holds {t.batch_size // (self.dist.world * t.grad_accum)}: raise "
                              "trainer.batch_size or lower trainer.grad_accum")
        if t.time_limit > 0 and self.dist.enabled:  # each rank's clock would end it at a different step
            raise ConfigError("config key 'trainer.time_limit' works in a single process only; under torchrun "
                              "set trainer.steps instead")
        seed_everything(config.seed)

        # --- specs: everything modality-specific comes from plugins ----------------
        reg = self.registry
        self.modality = reg.get("modality", config.modality)
        gen_spec = reg.get("generator", config.generator.name, config.modality)
        disc_spec = reg.get("discriminator", config.discriminator.name, config.modality)
        data_spec = reg.get("dataset", config.dataset.name, config.modality)
        self.loss = reg.get("loss", t.loss)
        self.regularizer = reg.get("regularizer", t.regularizer) if t.regularizer else None
        self.writer = (reg.get("writer", config.writer, config.modality)
                       if config.writer and config.writer != NONE else None)
        self.metrics = [reg.get("metric", m, config.modality) for m in config.metrics if m != NONE]
        self.real_to_d = self.modality.real_to_d or (lambda x: x)
        self._g_needs_real = _needs_real(self.loss)

        # --- data ----------------------------------------------------------------------
        try:
            self.dataset = data_spec.build(config.dataset.params)
        except SparringError:
            raise
        except (OSError, ValueError) as exc:
            raise SparringError(f"dataset '{data_spec.name}' could not be built: {exc}") from None
        self.stream = BatchStream(self.dataset, t.batch_size, config.seed, self.device,
                                  on_device=t.data_on_device, num_workers=t.num_workers,
                                  name=f"dataset '{data_spec.name}'", rank=self.dist.rank,
                                  world=self.dist.world)
        self.num_classes = self._resolve_conditional(gen_spec, disc_spec)
        probe = self.real_to_d(self.stream.sample(1, seed=0).to(self.device))
        self.info = DataInfo(tuple(probe.shape[1:]), self.num_classes, t.pack)

        # --- models and optimisers -------------------------------------------------------
        self.G = gen_spec.build(config.generator.params, self.info).to(self.device)
        self.D = disc_spec.build(config.discriminator.params, self.info).to(self.device)
        # The GPU fast path: each "auto" option is on where benchmarks/gpu.py measured a gain.
        self.channels_last = self._resolve_channels_last()
        if self.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # static shapes: pick the fastest kernels once
        distributed.broadcast_parameters(self.G, self.dist)
        distributed.broadcast_parameters(self.D, self.dist)
        self.ema = EMA(self.G, t.ema_halflife, t.ema_rampup) if t.ema_halflife > 0 else None
        mode = None if t.compile_mode == "default" else t.compile_mode
        # Spectral norm's power iteration runs before each compiled call, not in the graph.
        self.G_train = compile_with_spectral_norm(self.G, mode=mode) if t.compile else self.G
        self.D_train = compile_with_spectral_norm(self.D, mode=mode) if t.compile else self.D
        # CUDA graphs replay into the same output buffers: mark where each step begins.
        self._cudagraphs = t.compile and t.compile_mode == "reduce-overhead" and self.device.type == "cuda"
        self.fused = self._resolve_fused()
        lr_d, betas_d = t.lr_d, tuple(t.betas_d)
        if self.regularizer and t.reg_interval > 1:
            # Lazy regularisation: scale D's lr and betas by k/(k+1) (StyleGAN2, App. B).
            c = t.reg_interval / (t.reg_interval + 1)
            lr_d, betas_d = lr_d * c, (betas_d[0] ** c, betas_d[1] ** c)
        self.opt_g = self._optimizer(self.G.parameters(), t.lr_g, tuple(t.betas_g))
        self.opt_d = self._optimizer(self.D.parameters(), lr_d, betas_d)
        # The schedule scales these base rates; a function of the step, so resume is exact.
        self._base_lr = ((self.opt_g, t.lr_g), (self.opt_d, lr_d))
        self._scheduled = t.lr_schedule != "constant"
        self.opt_pre = None
        if t.pretrain_steps and self.modality.pretrain_loss is not None:
            self.opt_pre = torch.optim.Adam(self.G.parameters(), lr=t.lr_pretrain)
        self.augment = None
        if config.augment.name:
            aug_spec = reg.get("augmentation", config.augment.name, config.modality)
            self.augment = aug_spec.build(config.augment.params)

        # --- precision ---------------------------------------------------------------------
        precision = t.precision
        if precision == "auto":
            precision = "bf16" if self.device.type == "cuda" else "fp32"
        if precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("config key 'trainer.precision' = 'fp16' needs a CUDA device")
        self.precision = precision
        self.amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
        # Non-finite steps found on the device need no host sync: the fused optimiser skips
        # them itself and the counts are read at log steps.
        self.lazy_finite = self._resolve_finite_check()
        self._nonfinite = torch.zeros(3, dtype=torch.long, device=self.device) if self.lazy_finite else None
        self._worst_run = 0
        self.graphs = self._resolve_cuda_graph()

        # --- counters (all saved in checkpoints) ----------------------------------------
        self.step = 0
        self.pretrain_step = 0
        self.d_updates = 0
        self.skipped_steps = 0
        self._bad_in_a_row = 0
        self._stop_signal = None
        # perf_counter() time at which trainer.time_limit ends the run; set when training
        # starts (a caller timing phases itself may set it).
        self.deadline: float | None = None
        self.last_logs: dict = {}
        self.force_progress = False  # show the bar even when stderr is not a terminal
        self._hooks = {name: self.registry.has_impls(name) for name in (
            "sparring_train_start", "sparring_step_end", "sparring_eval_end",
            "sparring_samples_written", "sparring_checkpoint_save", "sparring_checkpoint_load",
            "sparring_train_end", "sparring_exception")}
        if resume:
            self.resume()

    # --- setup helpers -------------------------------------------------------------------

    def _resolve_conditional(self, gen_spec, disc_spec):
        t = self.config.trainer
        labelled = getattr(self.dataset, "num_classes", None)
        if t.conditional == "no" or labelled is None:
            if t.conditional == "yes":
                raise ConfigError("config key 'trainer.conditional' is 'yes' but dataset "
                                  f"'{self.config.dataset.name}' has no labels (no num_classes)")
            return None
        able = gen_spec.conditional and disc_spec.conditional
        if not able:
            if t.conditional == "yes":
                raise ConfigError("config key 'trainer.conditional' is 'yes' but "
                                  f"generator '{gen_spec.name}' or discriminator '{disc_spec.name}' "
                                  "is not class-conditional")
            return None
        if t.pack > 1:
            raise ConfigError("config key 'trainer.pack' > 1 does not combine with class-conditional "
                              "training; set trainer.conditional = \"no\"")
        return int(labelled)

    def _resolve_channels_last(self) -> bool:
        t = self.config.trainer
        image_shaped = len(self.info.shape) == 3
        if t.channels_last == "yes" and not image_shaped:
            raise ConfigError(f"config key 'trainer.channels_last' is 'yes' but dataset "
                              f"'{self.config.dataset.name}' gives samples of shape {self.info.shape}; "
                              "channels-last needs image-shaped (C, H, W) samples")
        if t.channels_last == "auto":
            return image_shaped and self.device.type == "cuda"
        return t.channels_last == "yes"

    def _resolve_fused(self) -> bool:
        t = self.config.trainer
        if t.fused_optimizer == "yes" and t.optimizer == "rmsprop":
            raise ConfigError("config key 'trainer.fused_optimizer' is 'yes' but trainer.optimizer "
                              "'rmsprop' has no fused kernel (adam, adamw and sgd have)")
        if t.fused_optimizer == "auto":
            return t.optimizer != "rmsprop" and self.device.type == "cuda"
        return t.fused_optimizer == "yes"

    def _resolve_finite_check(self) -> bool:
        """True when non-finite steps are detected on the device (no per-step host sync)."""
        t = self.config.trainer
        possible = self.fused and not self.scaler.is_enabled()
        if t.finite_check == "log" and not possible:
            raise ConfigError("config key 'trainer.finite_check' is 'log' but it needs "
                              "trainer.fused_optimizer on (and precision other than fp16): the fused "
                              "optimiser skips non-finite steps on the device")
        return possible if t.finite_check == "auto" else t.finite_check == "log"

    def _resolve_cuda_graph(self):
        t = self.config.trainer
        if not t.cuda_graph:
            return None
        needs = [(self.device.type == "cuda", "a CUDA device"),
                 (self.lazy_finite, "trainer.finite_check = \"log\" (a fused optimiser, no fp16)"),
                 (self.regularizer is None or t.reg_interval == 1, "no lazy penalty (trainer.reg_interval 1)"),
                 (self.augment is None or getattr(self.augment, "graph_safe", False),
                  f"an augmentation that is graph_safe ('{self.config.augment.name}' does not say so)"),
                 (not (t.compile and t.compile_mode != "default"),
                  "trainer.compile_mode = \"default\" when compiling (the other modes make CUDA graphs "
                  "of their own)"),
                 (t.lr_schedule == "constant", "trainer.lr_schedule = \"constant\" (the graph holds the rate)"),
                 (t.top_k >= 1.0 or t.top_k_halflife == 0,
                  "trainer.top_k_halflife = 0 (the graph holds how many samples top-k keeps)"),
                 (not self.dist.enabled, "a single process")]
        missing = [what for ok, what in needs if not ok]
        if missing:
            raise ConfigError("config key 'trainer.cuda_graph' is true but it needs " + ", ".join(missing))
        from .cuda_graph import StepGraph

        return StepGraph(self)

    def _optimizer(self, params, lr, betas):
        t = self.config.trainer
        fused = {"fused": True} if self.fused else {}
        if t.cuda_graph and self.device.type == "cuda" and t.optimizer != "rmsprop":
            fused["capturable"] = True  # its step count lives on the GPU, so it can be captured
        if t.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=t.weight_decay, **fused)
        if t.optimizer == "adamw":
            return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=t.weight_decay, **fused)
        if t.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, weight_decay=t.weight_decay)
        return torch.optim.SGD(params, lr=lr, momentum=betas[0], weight_decay=t.weight_decay, **fused)

    def _memory_format(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        # A captured graph must not rely on autocast's cache of cast weights.
        return torch.autocast(self.device.type, dtype=self.amp_dtype,
                              cache_enabled=not self.config.trainer.cuda_graph)

    def _call(self, hook: str, **kwargs) -> None:
        """Call a lifecycle hook, unless no plugin implements it (then it costs nothing)."""
        if self._hooks.get(hook):
            getattr(self.registry.pm.hook, hook)(**kwargs)

    # --- the pieces of one step ------------------------------------------------------------

    def latent(self, n: int, rng: torch.Generator | None = None, truncation: float | None = None) -> torch.Tensor:
        """G's input noise for ``n`` samples (the modality may supply its own sampler);
        ``truncation`` restricts each entry to [-truncation, truncation] (sampling only)."""
        if truncation is not None:
            if self.modality.sample_latent is not None:
                raise ConfigError(f"modality '{self.config.modality}' draws its own latents "
                                  "(sample_latent), so sparring cannot truncate them")
            return truncated_normal((n, self.G.latent_dim), truncation, rng).to(self.device)
        if self.modality.sample_latent is not None:
            return self.modality.sample_latent(n, self.G, self.device, rng)
        if rng is None:
            return torch.randn(n, self.G.latent_dim, device=self.device)
        return torch.randn(n, self.G.latent_dim, generator=rng).to(self.device)

    def fake_labels(self, n: int) -> torch.Tensor | None:
        if self.num_classes is None:
            return None
        return torch.randint(self.num_classes, (n,), device=self.device)

    def noise(self, n: int):
        """Latents and fake labels for this rank's ``n`` samples, drawn for the global batch."""
        world = self.dist.world
        z = distributed.local_slice(self.latent(n * world), self.dist)
        y = self.fake_labels(n * world)
        return z, (None if y is None else distributed.local_slice(y, self.dist))

    def d_forward(self, x: torch.Tensor, y=None, features: bool = False):
        """D's logits for samples as D sees them: augmented, then packed.

        With ``features`` returns ``(logits, features)`` (D's intermediate outputs)."""
        if self.augment is not None:
            x = self.augment(x)  # per sample, before packing: packed samples get their own draws
        x = pack(x, self.config.trainer.pack)
        out = self.D_train(x, y)
        return split_output(out) if features else logits_of(out)

    def _g_loss_terms(self, fake, y, x_real, y_real):
        """G's adversarial loss on one micro-batch, plus feature matching when weighted."""
        t = self.config.trainer
        matching = t.feature_matching > 0
        fake_logits, fake_features = self.d_forward(fake, y, features=True)
        real_logits = real_features = None
        if self._g_needs_real or matching:
            with torch.no_grad():
                real_logits, real_features = self.d_forward(self._memory_format(self.real_to_d(x_real)),
                                                            y_real, features=True)
            real_logits = real_logits.float()
        fake_logits, real_logits = fake_logits.float(), real_logits if self._g_needs_real else None
        keep = top_k_fraction(self.step, t.top_k, t.top_k_halflife)
        if keep < 1.0:  # top-k training: G's worst samples (by D) add nothing to its loss
            k = max(1, round(keep * fake_logits.shape[0]))
            fake_logits, real_logits = top_k_logits(fake_logits, k, real_logits)
        loss = self.loss.g_loss(fake_logits, real_logits)
        if not matching:
            return loss, None
        if not fake_features:
            raise ConfigError(f"config key 'trainer.feature_matching' is {t.feature_matching} but "
                              f"discriminator '{self.config.discriminator.name}' returns no features "
                              "(return a list ending with the logits, or a DiscriminatorOutput)")
        fm = feature_matching_loss(real_features, fake_features)
        return loss + t.feature_matching * fm, fm.detach()

    def _finite_and_clip(self, loss: torch.Tensor, module: torch.nn.Module, opt, lazy: bool = False):
        """Check loss and gradients for inf/NaN and clip when asked.

        Returns ``(finite, norm)``. ``finite`` is a bool (one host sync) or, when ``lazy``,
        a 0-d tensor left on the device for the fused optimiser to read.
        """
        with_grad = [p for p in module.parameters() if p.grad is not None]
        grads = [p.grad for p in with_grad]
        if self.scaler.is_enabled():
            self.scaler.unscale_(opt)
        norm = _total_norm(grads) if grads else torch.zeros((), device=self.device)
        finite = torch.isfinite(norm + loss.detach().float())
        if not lazy:
            finite = bool(finite.item())
            if not finite:
                return finite, norm
        if self.config.trainer.grad_clip > 0:  # a non-finite norm only harms a step that is skipped
            torch.nn.utils.clip_grads_with_norm_(with_grad, self.config.trainer.grad_clip, norm)
        return finite, norm

    def _apply(self, opt, finite) -> None:
        """Step the optimiser, or skip a non-finite step (counted by the loop)."""
        if isinstance(finite, torch.Tensor):
            # The fused kernel leaves parameters, moments and step counts alone when found_inf is 1.
            opt.found_inf = (~finite).float()
            try:
                opt.step()
            finally:
                del opt.found_inf
            return
        if finite:
            self.scaler.step(opt)
        else:
            opt.zero_grad(set_to_none=True)
        self.scaler.update()

    def d_step(self, x_real: torch.Tensor, y_real) -> dict:
        """One discriminator update over ``grad_accum`` micro-batches, plus the penalty."""
        t = self.config.trainer
        if self._cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()
        self.opt_d.zero_grad(set_to_none=True)
        micro = t.batch_size // self.dist.world // t.grad_accum
        total = real_mean = fake_mean = None
        x_real = self._memory_format(self.real_to_d(x_real))
        for i in range(t.grad_accum):
            xr = x_real[i * micro:(i + 1) * micro]
            yr = None if y_real is None else y_real[i * micro:(i + 1) * micro]
            z, y_fake = self.noise(micro)
            with torch.no_grad(), self._autocast():
                fake = self.G_train(z, y_fake)
            with self._autocast():
                real_logits = self.d_forward(xr, yr)
                fake_logits = self.d_forward(fake, y_fake)
                loss = _per_micro(self.loss.d_loss(real_logits.float(), fake_logits.float()), t.grad_accum)
            self.scaler.scale(loss).backward()
            total = _add(total, loss.detach())
            real_mean = _add(real_mean, _per_micro(real_logits.detach().float().mean(), t.grad_accum))
            fake_mean = _add(fake_mean, _per_micro(fake_logits.detach().float().mean(), t.grad_accum))
            if self.augment is not None and hasattr(self.augment, "update"):
                self.augment.update(real_logits.detach())
        penalty = None
        if self.regularizer is not None and self.d_updates % t.reg_interval == 0:
            # Lazy: every reg_interval updates, weighted by the interval (StyleGAN2).
            def D(x, y=None):
                return self.d_forward(x, y)

            xr, yr = x_real[:micro], (None if y_real is None else y_real[:micro])
            with self._autocast():
                penalty = self.regularizer.penalty(D, xr, fake.detach(), yr)
                scaled = penalty.float() * t.reg_weight * t.reg_interval
            self.scaler.scale(scaled).backward()
            penalty = penalty.detach()
        loss = distributed.average_gradients(self.D, _add(total, penalty), self.dist)
        finite, norm = self._finite_and_clip(loss, self.D, self.opt_d, self.lazy_finite)
        self._apply(self.opt_d, finite)
        self.d_updates += 1
        logs = {"finite": finite, "d_loss": total, "d_real": real_mean, "d_fake": fake_mean, "grad_norm_d": norm}
        if self.regularizer is not None:
            logs["reg"] = penalty if penalty is not None else torch.zeros((), device=self.device)
        return logs

    def g_step(self, x_real: torch.Tensor, y_real) -> dict:
        """One generator update; gradients are taken for G's parameters only.

        ``autograd.grad`` rather than freezing D: the backward through D computes no weight
        gradients of D, and D's ``requires_grad`` never flips (no Python loop over its
        parameters each step, no recompilation of a compiled D).
        """
        t = self.config.trainer
        if self._cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()
        self.opt_g.zero_grad(set_to_none=True)
        micro = t.batch_size // self.dist.world // t.grad_accum
        total = fm_total = ms_total = imle_total = None
        params = [p for p in self.G.parameters() if p.requires_grad]
        for i in range(t.grad_accum):
            z, y = self.noise(micro)
            with self._autocast():
                fake = self.G_train(z, y)
                xr = x_real[i * micro:(i + 1) * micro]
                yr = None if y_real is None else y_real[i * micro:(i + 1) * micro]
                loss, fm = self._g_loss_terms(fake, y, xr, yr)
                if t.mode_seeking > 0:
                    ms = self._mode_seeking(fake, z)
                    loss = loss + t.mode_seeking * ms
                    ms_total = _add(ms_total, _per_micro(ms.detach(), t.grad_accum))
                if t.imle > 0:
                    im = self._imle(xr, yr)
                    loss = loss + t.imle * im
                    imle_total = _add(imle_total, _per_micro(im.detach(), t.grad_accum))
                loss = _per_micro(loss, t.grad_accum)
                fm_total = _add(fm_total, None if fm is None else _per_micro(fm, t.grad_accum))
            grads = torch.autograd.grad(self.scaler.scale(loss), params, allow_unused=True)
            for p, g in zip(params, grads):
                if g is not None:
                    p.grad = g if p.grad is None else p.grad.add_(g)
            total = _add(total, loss.detach())
        loss = distributed.average_gradients(self.G, total, self.dist)
        finite, norm = self._finite_and_clip(loss, self.G, self.opt_g, self.lazy_finite)
        self._apply(self.opt_g, finite)
        logs = {"finite": finite, "g_loss": total, "grad_norm_g": norm}
        if fm_total is not None:
            logs["feature_matching"] = fm_total
        if ms_total is not None:
            logs["mode_seeking"] = ms_total
        if imle_total is not None:
            logs["imle"] = imle_total
        return logs

    def _mode_seeking(self, fake, z) -> torch.Tensor:
        """MSGAN's term over the micro-batch's two halves; latents must be one tensor."""
        t = self.config.trainer
        if not isinstance(z, torch.Tensor):
            raise ConfigError(f"config key 'trainer.mode_seeking' is {t.mode_seeking} but generator "
                              f"'{self.config.generator.name}' takes {type(z).__name__} latents, not a "
                              "tensor: set trainer.mode_seeking = 0")
        return mode_seeking_loss(fake, z)

    def _imle(self, x_real: torch.Tensor, y_real) -> torch.Tensor:
        """IMLE's term: each real sample's nearest generated candidate is pulled toward it."""
        t = self.config.trainer
        n = x_real.shape[0]
        z_pool, _ = self.noise(n * t.imle_candidates)
        if not isinstance(z_pool, torch.Tensor):
            raise ConfigError(f"config key 'trainer.imle' is {t.imle} but generator "
                              f"'{self.config.generator.name}' takes {type(z_pool).__name__} latents, not a "
                              "tensor: set trainer.imle = 0")
        y_pool = None if y_real is None else y_real.repeat_interleave(t.imle_candidates)
        # A generator may name what IMLE compares and pulls (a view of its samples); a music
        # generator, say, only which voices sound, so the pull toward rare rests leaves pitches be.
        view = imle_view(self.G)
        real = view(self._memory_format(self.real_to_d(x_real)))
        # The pool keeps its graph and the picks are indexed from it. Regenerating the picks
        # alone is cheaper but not the same samples where batch norm reads batch statistics
        # (benchmarks/imle_regeneration.py: music G regenerations 32 % farther from the real phrase).
        pool = view(self.G_train(z_pool, y_pool))
        try:
            pick = nearest_candidate(real, pool.detach(), y_real, y_pool)
        except ValueError as exc:
            raise ConfigError(f"config key 'trainer.imle' is {t.imle} but {exc}: set trainer.imle = 0") from None
        return imle_loss(pool[pick], real)

    def train_step(self) -> dict:
        """``n_critic`` D updates and ``g_steps`` G updates (or one replay of the captured step);
        returns the step's logs as tensors (read on log steps only)."""
        t = self.config.trainer
        if self._scheduled:
            self._set_learning_rates()
        finite = True  # a bool, or a device tensor under the lazy check (no sync here)
        if self.graphs is not None:
            batches = [self.stream.next() for _ in range(t.n_critic)]
            labelled = self.num_classes is not None
            d_logs, g_logs = self.graphs.step([(x, y if labelled else None) for x, y in batches])
            finite, g_finite = d_logs.pop("finite"), g_logs.pop("finite")
        else:
            for _ in range(t.n_critic):
                x_real, y_real = self.stream.next()
                if self.num_classes is None:
                    y_real = None  # labelled data, unconditional models
                d_logs = self.d_step(x_real, y_real)
                finite = finite & d_logs.pop("finite")
            g_finite = True
            for _ in range(t.g_steps):  # fresh noise each time; the logs are the last update's
                g_logs = self.g_step(x_real, y_real)
                g_finite = g_finite & g_logs.pop("finite")
        self.update_ema(g_finite)
        self._guard(finite & g_finite)
        return {**d_logs, **g_logs}

    def _set_learning_rates(self) -> None:
        t = self.config.trainer
        factor = lr_factor(t.lr_schedule, self.step, t.steps, t.lr_decay_start, t.lr_final)
        for opt, base in self._base_lr:
            for group in opt.param_groups:
                group["lr"] = base * factor

    def update_ema(self, g_finite) -> None:
        """Move the EMA copy of G toward G (after each G update)."""
        t = self.config.trainer
        # Lazily checked, a skipped step left G as it was: averaging it in again is harmless.
        if self.ema is not None and (self.lazy_finite or g_finite):
            self.ema.update(self.G, t.batch_size, (self.step + 1) * t.batch_size)

    def pretrain(self, bar) -> None:
        """Generator pre-training with the modality's loss (e.g. MLE for text)."""
        t = self.config.trainer
        self._start_clock()
        while self.pretrain_step < t.pretrain_steps and self._stop_signal is None and not self.out_of_time:
            x, y = self.stream.next()
            y = y if self.num_classes is not None else None
            self.opt_pre.zero_grad(set_to_none=True)
            with self._autocast():
                loss = self.modality.pretrain_loss(self.G, x, y)
            loss.backward()
            loss = distributed.average_gradients(self.G, loss, self.dist)
            finite, _ = self._finite_and_clip(loss, self.G, self.opt_pre)
            if finite:
                self.opt_pre.step()
            self.pretrain_step += 1
            if self.pretrain_step % t.log_every == 0 or self.pretrain_step == t.pretrain_steps:
                value = float(loss.detach())
                self._log({"phase": "pretrain", "step": self.pretrain_step, "pretrain_loss": value})
                if bar is not None:
                    bar.set_postfix_str(f"pretrain {self.pretrain_step}/{t.pretrain_steps} loss {value:.4f}")
        if self.ema is not None:
            self.ema.model.load_state_dict(self.G.state_dict())

    # --- the loop ------------------------------------------------------------------------

    def train(self) -> dict:
        """Train until ``trainer.steps``; returns the last evaluation's metrics."""
        t = self.config.trainer
        self._prepare_run_dir()
        bar = self._progress_bar()
        old_handlers = self._install_signal_handlers()
        self._call("sparring_train_start", trainer=self)
        metrics: dict = {}
        tick, steps_since = time.perf_counter(), 0
        self._start_clock()
        try:
            if self.opt_pre is not None and self.pretrain_step < t.pretrain_steps:
                self.pretrain(bar)
            while self.step < t.steps and self._stop_signal is None and not self.out_of_time:
                self.last_logs = self.train_step()
                self.step += 1
                steps_since += 1
                if bar is not None:
                    bar.update(1)

                if self.step % t.log_every == 0 or self.step == t.steps:
                    self._check_nonfinite_counts()
                    elapsed = time.perf_counter() - tick
                    logs = self._log_step(elapsed / max(steps_since, 1), bar)
                    tick, steps_since = time.perf_counter(), 0
                    self.last_logs = logs
                self._call("sparring_step_end", trainer=self, step=self.step, logs=self.last_logs)
                if self.step % t.sample_every == 0 or self.step == t.steps:
                    self.write_samples()
                if t.eval_every > 0 and self.step % t.eval_every == 0 and self.step < t.steps \
                        and self.dist.is_main:
                    metrics = self.evaluate()
                if self.step % t.checkpoint_every == 0 or self.step == t.steps:
                    self.save_checkpoint()
            if self._stop_signal is not None:
                path = self.save_checkpoint()
                print(f"\nsparring: stopped by {self._stop_signal} at step {self.step}; checkpoint "
                      f"{path}; continue with: sparring train --resume {self.run_dir}", file=sys.stderr)
                return metrics
            if self.step < t.steps:  # the time limit ended the run: finish it as the last step would
                limit = f"of {t.time_limit:g} min " if t.time_limit > 0 else ""
                print(f"\nsparring: time limit {limit}reached at step {self.step} of {t.steps}", file=sys.stderr)
                if self.step == 0 or self.step % t.sample_every != 0:
                    self.write_samples()
                if self.step == 0 or self.step % t.checkpoint_every != 0:
                    self.save_checkpoint()
            if self.metrics and t.eval_every >= 0 and self.dist.is_main:
                metrics = self.evaluate()
            self._call("sparring_train_end", trainer=self)
            return metrics
        except TrainingDiverged:
            self._call("sparring_exception", trainer=self, error=sys.exc_info()[1])
            raise
        except BaseException as error:
            self._emergency_checkpoint(error)
            raise
        finally:
            if bar is not None:
                bar.close()
            self._restore_signal_handlers(old_handlers)

    def _start_clock(self) -> None:
        limit = self.config.trainer.time_limit
        if self.deadline is None and limit > 0:
            self.deadline = time.perf_counter() + 60.0 * limit

    @property
    def out_of_time(self) -> bool:
        """True once ``trainer.time_limit`` minutes have passed since training started."""
        return self.deadline is not None and time.perf_counter() >= self.deadline

    @property
    def stopped(self) -> str | None:
        """Why training stopped early: a signal name (``SIGINT``, ``SIGTERM``), the reason a
        plugin gave to :meth:`request_stop`, or None while it runs (and after a full run)."""
        return self._stop_signal

    def request_stop(self, reason: str) -> None:
        """Stop after the current step with a checkpoint, as a signal would (for plugins:
        early stopping, a time budget). ``sparring train --resume`` continues the run."""
        if self._stop_signal is None:
            self._stop_signal = str(reason) or "a plugin"

    def _guard(self, finite) -> None:
        """Count non-finite steps; a run of ``nan_patience`` of them stops training."""
        if isinstance(finite, torch.Tensor):
            # On the device: [current run, longest run, total skipped], read at log steps.
            # In place, so a captured CUDA graph could hold it too; five tiny kernels, no sync.
            bad = (~finite).long()
            counts = self._nonfinite
            counts[0].add_(1).mul_(bad)
            torch.maximum(counts[1], counts[0], out=counts[1])
            counts[2].add_(bad)
            return
        if finite:
            self._bad_in_a_row = 0
            return
        self.skipped_steps += 1
        self._bad_in_a_row += 1
        if self._bad_in_a_row >= self.config.trainer.nan_patience:
            self._diverged(self._bad_in_a_row)

    def _fold_nonfinite_counts(self) -> None:
        """Lazy check: move the device's counts of skipped steps to the host (one sync)."""
        if self._nonfinite is None:
            return
        run, worst, total = self._nonfinite.tolist()
        self._nonfinite.copy_(torch.tensor([run, run, 0]))
        self.skipped_steps += total
        self._bad_in_a_row = run
        self._worst_run = max(self._worst_run, worst)

    def _check_nonfinite_counts(self) -> None:
        self._fold_nonfinite_counts()
        if self._worst_run >= self.config.trainer.nan_patience:
            self._diverged(self._worst_run)

    def _diverged(self, run: int) -> None:
        # The skipped steps left the parameters as they were: the state is good.
        path = self.save_checkpoint()
        late = " (read at the log step)" if self.lazy_finite else ""
        raise TrainingDiverged(
            f"{run} consecutive steps had non-finite losses or gradients (at step {self.step}{late}); "
            f"the last good state is saved in {path}. Try a lower learning rate, gradient clipping "
            "(trainer.grad_clip) or a regularizer.")

    def _emergency_checkpoint(self, error: BaseException) -> None:
        """Keep what the run gained when something outside the step math fails."""
        try:
            if self.step > 0:
                path = self.save_checkpoint()
                print(f"sparring: {type(error).__name__} at step {self.step}; checkpoint saved to {path}",
                      file=sys.stderr)
        except Exception as exc:  # the original error matters more
            print(f"sparring: could not save an emergency checkpoint: {exc}", file=sys.stderr)
        try:
            self._call("sparring_exception", trainer=self, error=error)
        except Exception as exc:
            print(f"sparring: a plugin's sparring_exception hook failed too: {exc}", file=sys.stderr)

    # --- logging ---------------------------------------------------------------------------

    def _log(self, record: dict) -> None:
        """Append one JSON object to metrics.jsonl (non-finite numbers become null)."""
        if not self.dist.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(_finite_or_none(record)) + "\n")

    def _log_step(self, step_time: float, bar) -> dict:
        """Turn the latest step's tensors into floats (the only sync on log steps)."""
        t = self.config.trainer
        logs = {k: float(v) for k, v in self.last_logs.items()}
        logs.update(step=self.step, step_time=step_time,
                    samples_per_s=t.batch_size / step_time if step_time > 0 else math.nan,
                    lr_g=self.opt_g.param_groups[0]["lr"], lr_d=self.opt_d.param_groups[0]["lr"],
                    skipped_steps=self.skipped_steps)
        self._log(logs)
        if bar is not None:
            bar.set_postfix_str(f"D {logs['d_loss']:.3f} G {logs['g_loss']:.3f}")
        return logs

    def _progress_bar(self):
        t = self.config.trainer
        if not (t.progress and (sys.stderr.isatty() or self.force_progress)) or not self.dist.is_main:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=t.steps, initial=self.step, desc=f"{self.config.modality}", unit="step",
                    dynamic_ncols=True)

    def _prepare_run_dir(self) -> None:
        """Create the run folder, check it is writable, write the resolved config."""
        if not self.dist.is_main:
            return
        try:
            (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
            (self.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
            probe = self.run_dir / ".write-test"
            probe.write_bytes(b"ok")
            probe.unlink()
            (self.run_dir / "config.toml").write_text(to_toml(self.config.to_dict()), encoding="utf-8")
        except OSError as exc:
            raise SparringError(f"run folder '{self.run_dir}' is not writable: {exc.strerror or exc}") from None
        need = 2 * self.checkpoint_size_estimate()
        free = shutil.disk_usage(self.run_dir).free
        if free < need:
            raise SparringError(f"run folder '{self.run_dir}' has {free / 2**20:.1f} MiB free; checkpoints "
                                f"need about {need / 2**20:.1f} MiB (two of them, written atomically)")

    def checkpoint_size_estimate(self) -> int:
        """Bytes of one checkpoint: G, D and EMA weights plus two Adam moments each."""
        def nbytes(module):
            return sum(t.numel() * t.element_size() for t in module.state_dict().values())

        g, d = nbytes(self.G), nbytes(self.D)
        return g * (4 if self.ema is not None else 3) + d * 3 + 2**20

    # --- signals ---------------------------------------------------------------------------

    def _install_signal_handlers(self):
        import threading

        if threading.current_thread() is not threading.main_thread():
            return None
        old = {}

        def handler(signum, frame):
            if self._stop_signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl-C: stop now
            self._stop_signal = signal.Signals(signum).name

        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
        return old

    def _restore_signal_handlers(self, old) -> None:
        for sig, h in (old or {}).items():
            signal.signal(sig, h)

    # --- sampling and evaluation -------------------------------------------------------------

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator used for samples and evaluation: the EMA copy when there is one."""
        return self.ema.model if self.ema is not None else self.G

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, batch_size: int = 256,
               generator: torch.nn.Module | None = None, truncation: float | None = None,
               d_keep: float | None = None) -> torch.Tensor:
        """``n`` samples from the sampling generator (or ``generator``, e.g. the raw ``G``
        beside its EMA copy), on the CPU; never touches global RNG. ``truncation``: the
        truncation trick's threshold on the latents (None: the untruncated normal).
        ``d_keep``: draw n / d_keep samples and keep the n that D rates most real
        (discriminator rejection sampling as a top-k, ``sparring.rejection``)."""
        check_truncation(truncation)  # before any sample is drawn
        check_d_keep(d_keep)
        if d_keep is not None:
            self._check_d_rates_one_by_one()  # before the draw
            drawn = self.sample(candidates(n, d_keep), seed, batch_size, generator, truncation)
            labels = None if self.num_classes is None else torch.arange(len(drawn)) % self.num_classes
            logits = self.d_logits(drawn, labels, batch_size)
            return drawn[keep_most_real(logits, n, labels, self.num_classes)]
        rng = torch.Generator().manual_seed(self.config.seed + 1 if seed is None else seed)
        G = self.sampler if generator is None else generator
        was_training = G.training
        G.eval()
        out = []
        try:
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                z = self.latent(m, rng, truncation)
                y = None
                if self.num_classes is not None:
                    y = (torch.arange(start, start + m) % self.num_classes).to(self.device)
                with self._autocast():
                    out.append(G(z, y).float().cpu())
        finally:
            G.train(was_training)
        return torch.cat(out)

    def _check_d_rates_one_by_one(self) -> None:
        if self.config.trainer.pack > 1:
            raise ConfigError(f"config key 'trainer.pack' is {self.config.trainer.pack}: D judges that many "
                              "samples together, so it cannot rate samples one by one (d_keep)")

    @torch.no_grad()
    def d_logits(self, x: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 256) -> torch.Tensor:
        """D's logit for each of the samples ``x`` (mean over a patch D's logits), on the CPU:
        D in eval mode, unaugmented, each sample judged alone (so not under PacGAN packing)."""
        self._check_d_rates_one_by_one()
        was_training = self.D.training
        self.D.eval()
        out = []
        try:
            for start in range(0, len(x), batch_size):
                xb = self._memory_format(x[start:start + batch_size].to(self.device))
                yb = None if y is None else y[start:start + batch_size].to(self.device)
                with self._autocast():
                    logits = logits_of(self.D(xb, yb))
                out.append(logits.float().reshape(len(xb), -1).mean(1).cpu())
        finally:
            self.D.train(was_training)
        return torch.cat(out)

    def write_samples(self, n: int | None = None, path: Path | None = None, samples=None) -> list[Path]:
        """Write ``samples`` (default: ``n`` fresh ones) through the modality's writer."""
        if self.writer is None or not self.dist.is_main:
            return []
        if samples is None:
            samples = self.sample(n or self.config.trainer.n_samples)
        path = path or self.run_dir / "samples" / f"step_{self.step:07d}"
        kwargs = {"dataset": self.dataset} if _accepts_dataset(self.writer.write) else {}
        paths = [Path(p) for p in self.writer.write(samples, path, **kwargs)]
        self._call("sparring_samples_written", trainer=self, step=self.step, paths=paths)
        return paths

    def evaluate(self, n: int | None = None, reference: bool = False, truncation: float | None = None,
                 d_keep: float | None = None) -> dict:
        """Every configured metric on ``n`` generated vs ``n`` real samples.

        With ``reference`` the same metrics of real vs other real samples are added under
        ``real/<key>``: the floor a perfect generator would reach with this many samples.
        With ``truncation`` the samples come from truncated latents, and with ``d_keep``
        they are the share of a larger draw that D rates most real: looks at sampling,
        not at training, so they are returned but neither logged nor passed to the hooks.
        """
        check_truncation(truncation)
        check_d_keep(d_keep)
        n = min(n or self.config.trainer.eval_samples, self.stream.n // (2 if reference else 1))
        with torch.random.fork_rng(devices=[]):
            generated = self.real_to_d(self.sample(n, seed=self.config.seed + 2, truncation=truncation, d_keep=d_keep)
                                       .to(self.device)).cpu()
            real = self.real_to_d(self.stream.sample(2 * n if reference else n, seed=self.config.seed + 3)
                                  .to(self.device)).cpu()
            results: dict = {}
            for spec in self.metrics:
                results.update(spec.compute(generated, real[:n], self.dataset))
                if reference:
                    ref = spec.compute(real[n:2 * n], real[:n], self.dataset)
                    # A metric may report its own real-vs-real floor under real/<key> already.
                    results.update({f"real/{k}": v for k, v in ref.items()
                                    if not k.startswith("real/") and f"real/{k}" not in results})
        results = {k: float(v) for k, v in results.items()}
        if truncation is not None or d_keep is not None:
            return results
        self._log({"step": self.step, "eval": results, "eval_samples": n})
        self._call("sparring_eval_end", trainer=self, step=self.step, metrics=results)
        return results

    # --- checkpoints -------------------------------------------------------------------------

    def state_dict(self) -> dict:
        self._fold_nonfinite_counts()
        state = {
            "format": 1,
            "step": self.step,
            "pretrain_step": self.pretrain_step,
            "d_updates": self.d_updates,
            "skipped_steps": self.skipped_steps,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "opt_pre": self.opt_pre.state_dict() if self.opt_pre is not None else None,
            "scaler": self.scaler.state_dict(),
            "augment": self.augment.state_dict() if hasattr(self.augment, "state_dict") else None,
            "stream": self.stream.state_dict(),
            "rng": ckpt.rng_state(),
            "config": self.config.to_dict(),
            "plugins": {},
        }
        self._call("sparring_checkpoint_save", trainer=self, state=state)
        return state

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.pretrain_step = int(state.get("pretrain_step", 0))
        self.d_updates = int(state.get("d_updates", 0))
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.ema is not None and state.get("G_ema") is not None:
            self.ema.load_state_dict(state["G_ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.opt_pre is not None and state.get("opt_pre") is not None:
            self.opt_pre.load_state_dict(state["opt_pre"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if state.get("augment") is not None and hasattr(self.augment, "load_state_dict"):
            self.augment.load_state_dict(state["augment"])
        self.stream.load_state_dict(state["stream"])
        ckpt.set_rng_state(state["rng"])
        self._call("sparring_checkpoint_load", trainer=self, state=state)

    def save_checkpoint(self) -> Path:
        if not self.dist.is_main:  # rank 0 writes for everyone: the ranks hold the same state
            return self.run_dir / "checkpoints" / f"step_{self.step:07d}.pt"
        try:
            return ckpt.save_checkpoint(self.state_dict(), self.run_dir / "checkpoints", self.step,
                                        self.config.trainer.keep_last)
        except OSError as exc:
            raise SparringError(f"could not write a checkpoint to '{self.run_dir / 'checkpoints'}': "
                                f"{exc.strerror or exc}; the previous checkpoint is kept") from None

    def resume(self) -> None:
        path = ckpt.latest_checkpoint(self.run_dir)
        if path is None:
            raise SparringError(f"no checkpoint to resume in '{self.run_dir / 'checkpoints'}'")
        self.load_state_dict(ckpt.load_checkpoint(path))
        self._truncate_log()

    def _truncate_log(self) -> None:
        """Drop log records a killed run wrote after its last checkpoint: they will be redone."""
        log = self.run_dir / "metrics.jsonl"
        if not log.is_file():
            return
        kept = []
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by the kill
            if record.get("phase") == "pretrain" or record.get("step", 0) <= self.step:
                kept.append(line)
        ckpt.atomic_write_bytes(log, lambda fh: fh.write(("\n".join(kept) + "\n" if kept else "").encode()))


def _total_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """The 2-norm of all gradients together in three kernel launches (torch's
    get_total_norm moves each per-tensor norm separately: one call per parameter)."""
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


def _add(total, value):
    """Running sum that starts without a kernel launch (the loop's hot path counts them)."""
    if value is None:
        return total
    return value if total is None else total + value


def _per_micro(value: torch.Tensor, grad_accum: int) -> torch.Tensor:
    return value if grad_accum == 1 else value / grad_accum


def _finite_or_none(value):
    """JSON has no inf or NaN: write them as null."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _needs_real(loss_spec) -> bool:
    """Relativistic G losses read D's output on real data too."""
    params = inspect.signature(loss_spec.g_loss).parameters
    real = params.get("real")
    return real is not None and real.default is inspect.Parameter.empty
