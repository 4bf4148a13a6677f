"""Frozen dataclasses that registration hooks yield.

Each spec names one thing a plugin provides. Names are unique per kind across all
installed plugins; the registry reports a clash naming both providers. Specs hold
factories, not objects, so that importing a plugin stays cheap: torch-heavy code is
imported inside ``build`` / ``compute`` / ``write``.

This module imports nothing heavy (no torch at module level).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class DataInfo:
    """What a model factory needs to know about the data it will see.

    ``shape`` is one sample's shape as D sees it (after the modality's ``real_to_d``),
    e.g. ``(2,)`` for 2-D points or ``(1, 28, 28)`` for MNIST. ``num_classes`` is set
    only when class-conditional training is on. ``pack`` is PacGAN's m: the
    discriminator receives ``m`` samples concatenated along dimension 1.
    """

    shape: tuple[int, ...]
    num_classes: Optional[int] = None
    pack: int = 1


@dataclass(frozen=True)
class ModalitySpec:
    """A kind of data: its defaults and the few modality-specific steps of the loop.

    ``sample_latent(n, generator, device, rng)`` returns G's input noise; by default
    ``torch.randn(n, generator.latent_dim)``. ``real_to_d(x)`` turns a real batch into
    what D sees (e.g. token ids to one-hot); identity by default. ``pretrain_loss(G,
    x, y)`` is the loss of an optional generator pre-training phase (text: MLE).
    """

    name: str
    generator: str
    discriminator: str
    dataset: str
    loss: str = "ns"
    writer: Optional[str] = None
    metrics: tuple[str, ...] = ()
    sample_latent: Optional[Callable[..., Any]] = None
    real_to_d: Optional[Callable[[Any], Any]] = None
    pretrain_loss: Optional[Callable[..., Any]] = None
    description: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A generator or discriminator: ``build(cfg, info) -> nn.Module``.

    ``config`` is a dataclass whose fields are the model's configuration keys (the
    ``[generator]`` / ``[discriminator]`` table); ``build`` receives an instance of it
    and a :class:`DataInfo`. A generator module must expose ``latent_dim`` unless its
    modality supplies ``sample_latent``. ``conditional`` says the model accepts class
    labels as its second argument.
    """

    name: str
    modality: str
    build: Callable[[Any, DataInfo], Any]
    config: Optional[type] = None
    conditional: bool = False
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: ``build(cfg) -> torch.utils.data.Dataset``.

    Items are a tensor ``x`` or a pair ``(x, y)`` with an integer class label; a dataset
    with labels sets ``num_classes``. ``offline`` is True when the data ships with an
    installed package (nothing is downloaded, ever).
    """

    name: str
    modality: str
    build: Callable[[Any], Any]
    config: Optional[type] = None
    offline: bool = True
    description: str = ""


@dataclass(frozen=True)
class LossSpec:
    """An adversarial loss on logits: ``d_loss(real, fake)`` and ``g_loss(fake, real)``.

    Both return a scalar to *minimise*. ``real`` and ``fake`` are D's raw logits
    (any shape, same shape as each other for relativistic losses).
    """

    name: str
    d_loss: Callable[[Any, Any], Any]
    g_loss: Callable[[Any, Any], Any]
    description: str = ""


@dataclass(frozen=True)
class RegularizerSpec:
    """A discriminator penalty: ``penalty(D, real, fake, y) -> scalar``.

    ``D`` is a callable returning logits; the penalty runs its own forward passes.
    ``weight`` and ``interval`` are defaults that ``trainer.reg_weight`` and
    ``trainer.reg_interval`` override (interval > 1 is lazy regularisation).
    """

    name: str
    penalty: Callable[..., Any]
    weight: float = 10.0
    interval: int = 1
    description: str = ""


@dataclass(frozen=True)
class AugmentationSpec:
    """A differentiable augmentation applied to real and fake alike before D.

    ``build(cfg) -> callable`` returns ``aug(x) -> x``. If the object has
    ``update(real_logits)`` the loop calls it after each D step (adaptive probability),
    and ``state_dict`` / ``load_state_dict`` make it resume exactly. An object with
    ``graph_safe = True`` may run inside ``trainer.cuda_graph``'s captured step: it reads
    nothing back to the host and keeps any changing state in tensors updated in place.
    ``modality`` is None for augmentations that apply to any tensor.
    """

    name: str
    modality: Optional[str]
    build: Callable[[Any], Any]
    config: Optional[type] = None
    description: str = ""


@dataclass
class AugmentProbabilityConfig:
    """The ``[augment]`` keys every :class:`sparring.augment.ProbabilisticAugment` shares.

    ``policy``: comma-separated transform names. ``p``: probability that each sample gets
    each transform (1.0 = always, DiffAugment's setting). ``adaptive``: tune ``p`` as ADA
    does from D's sign on real samples: every ``interval`` D steps ``p`` rises when
    ``mean(sign(D(real))) > target`` (D over-confident: overfitting) and falls otherwise,
    by ``batch * interval / (ada_kimg * 1000)``, starting at ``p_init``, never above
    ``p_max``. A plugin's augmentation config subclasses this and adds its transforms' sizes.
    """

    policy: str = ""
    p: float = 1.0
    adaptive: bool = False
    p_init: float = 0.0
    target: float = 0.6
    interval: int = 4
    ada_kimg: float = 100.0
    p_max: float = 1.0


@dataclass(frozen=True)
class MetricSpec:
    """An evaluation metric: ``compute(generated, real, dataset) -> dict[str, float]``.

    ``generated`` and ``real`` are tensors of equally many samples on the CPU in the
    form D sees; ``dataset`` is the training dataset (for protocol facts such as a
    mixture's centres). ``higher_is_better`` maps result keys to their direction,
    used to print the table.
    """

    name: str
    modality: Optional[str]
    compute: Callable[..., dict]
    higher_is_better: dict = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class WriterSpec:
    """A sample writer: ``write(samples, path) -> list[Path]``.

    ``path`` is a file path *without* suffix (e.g. ``samples/step_000500``); the writer
    adds its own suffixes and returns every file it wrote.
    """

    name: str
    modality: str
    write: Callable[[Any, Path], list]
    description: str = ""


#: registration hook name -> (kind used in messages, spec class)
REGISTRATION_KINDS: dict[str, tuple[str, type]] = {
    "sparring_modalities": ("modality", ModalitySpec),
    "sparring_generators": ("generator", ModelSpec),
    "sparring_discriminators": ("discriminator", ModelSpec),
    "sparring_datasets": ("dataset", DatasetSpec),
    "sparring_losses": ("loss", LossSpec),
    "sparring_regularizers": ("regularizer", RegularizerSpec),
    "sparring_augmentations": ("augmentation", AugmentationSpec),
    "sparring_metrics": ("metric", MetricSpec),
    "sparring_sample_writers": ("writer", WriterSpec),
}
