"""The text plugin's hook implementations: thin and cheap to import.

Only ``sparring``, the standard library and the config dataclasses are imported here;
torch, transformers, tokenizers and nltk are imported inside the factories.
"""
from __future__ import annotations

import weakref
from pathlib import Path

from sparring import hookimpl
from sparring.specs import DatasetSpec, MetricSpec, ModalitySpec, ModelSpec, WriterSpec

from .configs import (
    COCOConfig,
    GPT2GeneratorConfig,
    LSTMGeneratorConfig,
    OracleConfig,
    RelGANDiscriminatorConfig,
    TextFileConfig,
    TransformerDiscriminatorConfig,
)

MODALITY = "text"


def real_to_d(x):
    """Token ids (with the dataset's vocab column) -> one-hot; one-hot passes through."""
    if x.dim() == 3:
        return x.float()
    from torch.nn.functional import one_hot

    from .data import split_vocab_column

    ids, vocab = split_vocab_column(x)
    return one_hot(ids, vocab).float()


def mle_loss(G, x, y=None):
    """Teacher-forced cross-entropy of the real batch: the generator's MLE pre-training."""
    from .data import split_vocab_column

    return G.mle_loss(split_vocab_column(x)[0])


@hookimpl
def sparring_modalities():
    yield ModalitySpec(
        MODALITY, generator="lstm", discriminator="relgan", dataset="oracle", loss="rsgan",
        writer="text", metrics=("nll", "bleu"), real_to_d=real_to_d, pretrain_loss=mle_loss,
        description="token sequences (N, seq_len) -> one-hot: Gumbel-softmax GANs (RelGAN)")


def _model(module, class_name):
    def build(cfg, info):
        import importlib

        return getattr(importlib.import_module(f"sparring_text.{module}"), class_name)(cfg, info)

    build.__name__ = f"build_{class_name}"
    return build


@hookimpl
def sparring_generators():
    yield ModelSpec("lstm", MODALITY, _model("models", "LSTMGenerator"), LSTMGeneratorConfig,
                    description="LSTM with Gumbel-softmax outputs (RelGAN-style), MLE pre-training")
    yield ModelSpec("gpt2", MODALITY, _model("hf_models", "GPT2Generator"), GPT2GeneratorConfig,
                    description="GPT-2 decoder from GPT2Config, relaxed one-hot fed back as inputs_embeds")


@hookimpl
def sparring_discriminators():
    yield ModelSpec("relgan", MODALITY, _model("models", "RelGANDiscriminator"), RelGANDiscriminatorConfig,
                    description="RelGAN's CNN over several embedded representations, widths 2-5")
    yield ModelSpec("transformer", MODALITY, _model("hf_models", "TransformerDiscriminator"),
                    TransformerDiscriminatorConfig,
                    description="BERT or GPT-2 encoder from a config, reading inputs_embeds")


def _data(name):
    def build(cfg):
        from . import data

        return getattr(data, name)(cfg)

    build.__name__ = name
    return build


@hookimpl
def sparring_datasets():
    yield DatasetSpec("oracle", MODALITY, _data("build_oracle"), OracleConfig,
                      description="SeqGAN/RelGAN oracle LSTM data: vocab 5,000, length 20, 10,000 samples")
    yield DatasetSpec("text-file", MODALITY, _data("build_text_file"), TextFileConfig,
                      description="a UTF-8 text file, one sample a line; char, word or BPE tokens")
    yield DatasetSpec("coco", MODALITY, _data("build_coco"), COCOConfig, offline=False,
                      description="COCO captions text-GAN split from ../shared/data/coco_captions/")


def _nll(generated, real, dataset=None):
    from .metrics import nll_metrics

    return nll_metrics(generated, real, dataset)


def _bleu(generated, real, dataset=None):
    from .metrics import bleu_metrics

    return bleu_metrics(generated, real, dataset)


_BLEU_HIB = {f"bleu{n}": True for n in (2, 3, 4, 5)} | {f"self_bleu{n}": False for n in (2, 3, 4, 5)}


@hookimpl
def sparring_metrics():
    yield MetricSpec("nll", MODALITY, _nll, higher_is_better={"nll_oracle": False, "nll_gen": False},
                     description="NLL-oracle of samples (oracle data), NLL-gen of held-out text")
    yield MetricSpec("bleu", MODALITY, _bleu, higher_is_better=_BLEU_HIB,
                     description="BLEU-2..5 vs held-out text and Self-BLEU-2..5 (nltk, smoothing method1)")


def _write(samples, path, dataset=None):
    from .writers import write_text

    return write_text(samples, path, dataset)


@hookimpl
def sparring_sample_writers():
    yield WriterSpec("text", MODALITY, _write, description="text file and JSON lines of decoded samples")


# --- lifecycle: the tokenizer travels with the run; beta follows the schedule --------


def _saved_tokenizer(run_dir: Path) -> Path | None:
    folder = run_dir / "tokenizer"
    ckpts = run_dir / "checkpoints"
    if (folder / "tokenizer.json").is_file() and ckpts.is_dir() and any(ckpts.iterdir()):
        return folder
    return None


@hookimpl
def sparring_configure(config):
    """A run that already has checkpoints decodes with the tokenizer saved in it."""
    params = config.dataset.params
    if config.modality != MODALITY or not hasattr(params, "tokenizer_path") or params.tokenizer_path:
        return
    saved = _saved_tokenizer(Path(config.out))
    if saved is not None:
        params.tokenizer_path = str(saved)


def _attach(trainer) -> None:
    if hasattr(trainer.dataset, "trainer_ref"):
        trainer.dataset.trainer_ref = weakref.ref(trainer)
    for G in (trainer.G, trainer.ema.model if trainer.ema is not None else None):
        if G is not None and hasattr(G, "anneal"):
            G.anneal(trainer.step, trainer.config.trainer.steps)


@hookimpl
def sparring_train_start(trainer):
    _attach(trainer)
    tokenizer = getattr(trainer.dataset, "tokenizer", None)
    if tokenizer is not None and trainer.config.modality == MODALITY:
        tokenizer.save_pretrained(str(trainer.run_dir / "tokenizer"))


@hookimpl
def sparring_checkpoint_load(trainer, state):
    _attach(trainer)


@hookimpl
def sparring_step_end(trainer, step, logs):
    G = trainer.G
    if hasattr(G, "anneal"):
        G.anneal(step, trainer.config.trainer.steps)


@hookimpl
def sparring_report_gallery(run_dir, modality, step, paths, assets):
    """The text section of ``sparring report`` (sparring_text.report); other modalities pass."""
    if modality != MODALITY:
        return None
    from .report import gallery

    return gallery(paths, assets)
