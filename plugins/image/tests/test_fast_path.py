"""Channels-last image models (the GPU fast path's memory format), checked on the CPU."""
import pytest
import torch

from sparring import load_registry
from sparring.config import resolve
from sparring.train import Trainer


def image_run(out, model, **trainer):
    return {"modality": "image", "out": str(out), "seed": 0, "device": "cpu",
            "generator": {"name": model, "channels": 8},
            "discriminator": {"name": model, "channels": 8},
            "dataset": {"name": "digits", "size": 32},
            "trainer": {"steps": 3, "batch_size": 16, "eval_every": -1, "sample_every": 100,
                        "checkpoint_every": 100, "progress": False, "conditional": "no",
                        "fused_optimizer": "yes", "finite_check": "log", **trainer}}


@pytest.mark.parametrize("model", ["dcgan", "sngan"])
def test_channels_last_computes_what_the_default_layout_does_and_trains(tmp_path, model):
    registry = load_registry()
    plain, fast = (Trainer(resolve(image_run(tmp_path / layout, model, channels_last=layout), registry), registry)
                   for layout in ("no", "yes"))
    convs = [p for p in list(fast.G.parameters()) + list(fast.D.parameters()) if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    x, _ = fast.stream.next()
    assert fast._memory_format(x).is_contiguous(memory_format=torch.channels_last)
    # Same initial weights, another memory order: the same numbers up to float rounding.
    z = torch.randn(8, fast.G.latent_dim)
    torch.testing.assert_close(plain.G(z), fast.G(z), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(plain.D(x), fast.D(fast._memory_format(x)), rtol=1e-4, atol=1e-5)
    before = [p.detach().clone() for p in fast.G.parameters()]
    fast.train()
    assert fast.skipped_steps == 0
    assert all(torch.isfinite(p).all() for p in fast.G.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, fast.G.parameters()))


def test_compiled_sngan_trains_as_the_eager_one(tmp_path):
    # trainer.compile with spectral norm: the power iteration runs before each compiled call
    # (no graph break per layer); two steps land where the eager trainer's do.
    import torch._dynamo

    registry = load_registry()
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    runs = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        trainer = Trainer(resolve(image_run(tmp_path / str(compiled), "sngan", steps=2, compile=compiled,
                                            fused_optimizer="no", finite_check="step"), registry), registry)
        trainer.train()
        runs[compiled] = trainer
    assert not torch._dynamo.utils.counters["graph_break"]
    for key in ("d_loss", "d_real", "d_fake", "grad_norm_d", "g_loss", "grad_norm_g"):
        assert runs[True].last_logs[key] == pytest.approx(runs[False].last_logs[key], rel=1e-4), key
    eager, fast = runs[False].D.state_dict(), runs[True].D.state_dict()  # spectral norm's u, v too
    for key, value in eager.items():
        torch.testing.assert_close(fast[key], value, rtol=1e-3, atol=1e-5, msg=key)
    # G's weights; not the biases of convolutions that batch norm follows: their gradient
    # is zero up to rounding, and Adam scales rounding noise to a full step.
    eager, fast = runs[False].G.state_dict(), runs[True].G.state_dict()
    weights = [k for k in eager if k.endswith("weight")]
    assert weights
    for key in weights:
        torch.testing.assert_close(fast[key], eager[key], rtol=1e-3, atol=1e-5, msg=key)
