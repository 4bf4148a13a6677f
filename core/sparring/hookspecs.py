"""Every hook sparring calls. Plugins implement them with ``@sparring.hookimpl``.

Registration hooks yield (or return a list of) frozen specs from :mod:`sparring.specs`.
Lifecycle hooks are called by the loop at fixed points; every implementation runs and
return values are ignored. A hook nobody implements costs nothing: the loop skips it.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("sparring")


# --- registration hooks --------------------------------------------------------------


@hookspec
def sparring_modalities():
    """Yield ModalitySpec for each modality this plugin adds.

    Example::

        yield ModalitySpec("toy", generator="mlp", discriminator="mlp", dataset="ring")
    """


@hookspec
def sparring_generators():
    """Yield ModelSpec for each generator architecture.

    Example::

        yield ModelSpec("mlp", modality="toy", build=build_mlp_g, config=MLPConfig)
    """


@hookspec
def sparring_discriminators():
    """Yield ModelSpec for each discriminator architecture.

    Example::

        yield ModelSpec("mlp", modality="toy", build=build_mlp_d, config=MLPConfig)
    """


@hookspec
def sparring_datasets():
    """Yield DatasetSpec for each dataset.

    Example::

        yield DatasetSpec("ring", modality="toy", build=build_ring, config=RingConfig)
    """


@hookspec
def sparring_losses():
    """Yield LossSpec for each adversarial loss.

    Example::

        yield LossSpec("hinge", d_loss=hinge_d_loss, g_loss=hinge_g_loss)
    """


@hookspec
def sparring_regularizers():
    """Yield RegularizerSpec for each discriminator penalty.

    Example::

        yield RegularizerSpec("r1", penalty=r1_penalty, weight=10.0, interval=16)
    """


@hookspec
def sparring_augmentations():
    """Yield AugmentationSpec for each differentiable augmentation.

    Example::

        yield AugmentationSpec("translation", modality="image", build=build_translate)
    """


@hookspec
def sparring_metrics():
    """Yield MetricSpec for each evaluation metric.

    Example::

        yield MetricSpec("modes", modality="toy", compute=mixture_metrics)
    """


@hookspec
def sparring_sample_writers():
    """Yield WriterSpec for each way of writing samples to files.

    Example::

        yield WriterSpec("scatter", modality="toy", write=write_scatter)
    """


@hookspec
def sparring_cli_commands(subparsers):
    """Add subcommands to the ``sparring`` CLI through argparse ``subparsers``.

    Example::

        p = subparsers.add_parser("hello", help="say hello")
        p.set_defaults(func=lambda args: print("hello"))
    """


# --- lifecycle hooks -----------------------------------------------------------------


@hookspec(historic=True)
def sparring_configure(config):
    """Called once with the resolved RunConfig before anything is built.

    Example::

        if config.modality == "image": config.trainer.log_every = 50
    """


@hookspec
def sparring_train_start(trainer):
    """Called after models, optimizers and data are ready, before the first step.

    Example::

        print("training", trainer.config.modality, "from step", trainer.step)
    """


@hookspec
def sparring_step_end(trainer, step, logs):
    """Called after every training step; ``logs`` holds tensors, filled on log steps.

    Example::

        if step % 1000 == 0: print(step, logs)
    """


@hookspec
def sparring_eval_end(trainer, step, metrics):
    """Called after an evaluation with the metric results (a flat dict of floats).

    ``trainer.request_stop(reason)`` ends the run after this step with a checkpoint
    (early stopping); ``trainer.stopped`` then holds the reason.

    Example::

        if metrics.get("fd", 1e9) < 2.0: trainer.request_stop("fd below 2")
    """


@hookspec
def sparring_samples_written(trainer, step, paths):
    """Called after the writer wrote samples; ``paths`` lists the files.

    Example::

        for p in paths: print("wrote", p)
    """


@hookspec
def sparring_checkpoint_save(trainer, state):
    """Called while a checkpoint is assembled; add your own entries to ``state["plugins"]``.

    Example::

        state["plugins"]["my-plugin"] = {"count": self.count}
    """


@hookspec
def sparring_checkpoint_load(trainer, state):
    """Called after a checkpoint was loaded; read back your entries from ``state["plugins"]``.

    Example::

        self.count = state["plugins"].get("my-plugin", {}).get("count", 0)
    """


@hookspec
def sparring_train_end(trainer):
    """Called once when training finishes normally, after the final checkpoint.

    Example::

        print("done at step", trainer.step)
    """


@hookspec
def sparring_exception(trainer, error):
    """Called when training stops on an exception, after the emergency checkpoint.

    Example::

        notify(f"run {trainer.run_dir} failed: {error}")
    """


# --- report hooks --------------------------------------------------------------------


@hookspec(firstresult=True)
def sparring_report_gallery(run_dir, modality, step, paths, assets):
    """Return an HTML fragment showing one sample step's files, or None to pass.

    Called by ``sparring report`` once per shown step; the first non-None answer wins,
    and when every plugin passes the core's default gallery (images, WAV, text) renders
    the files. Answer only for your own ``modality``. ``assets.url(path_or_bytes, mime)``
    gives a URL that works offline (inline data URI or a file in report_assets/);
    ``sparring.report.default_gallery(paths, assets)`` renders files you leave over.

    Example::

        if modality != "music": return None
        rolls = [p for p in paths if p.suffix == ".png"]
        return "".join(f'<img src="{assets.url(p)}" alt="piano roll">' for p in rolls)
    """


REGISTRATION_HOOKS = (
    "sparring_modalities",
    "sparring_generators",
    "sparring_discriminators",
    "sparring_datasets",
    "sparring_losses",
    "sparring_regularizers",
    "sparring_augmentations",
    "sparring_metrics",
    "sparring_sample_writers",
)

LIFECYCLE_HOOKS = (
    "sparring_configure",
    "sparring_train_start",
    "sparring_step_end",
    "sparring_eval_end",
    "sparring_samples_written",
    "sparring_checkpoint_save",
    "sparring_checkpoint_load",
    "sparring_train_end",
    "sparring_exception",
)

#: Hooks ``sparring report`` calls (firstresult: one plugin renders each step).
REPORT_HOOKS = ("sparring_report_gallery",)
