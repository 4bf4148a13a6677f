import pytest
import torch

from sparring.errors import ConfigError
from sparring.specs import DataInfo
from sparring_image import models
from sparring_image.configs import (
    DCGANDiscriminatorConfig,
    DCGANGeneratorConfig,
    SNGANDiscriminatorConfig,
    SNGANGeneratorConfig,
)

# Narrow models: the shapes and the wiring are what these tests check, not capacity.
DCGAN_G = DCGANGeneratorConfig(latent_dim=16, channels=8)
DCGAN_D = DCGANDiscriminatorConfig(channels=8)
SNGAN_G = SNGANGeneratorConfig(latent_dim=16, channels=32, min_channels=8)
SNGAN_D = SNGANDiscriminatorConfig(channels=32)


def _check_pair(G, D, info, n=4):
    c = info.shape[0]
    z = torch.randn(n, G.latent_dim)
    y = torch.randint(0, info.num_classes, (n,)) if info.num_classes else None
    x = G(z, y)
    assert x.shape == (n, *info.shape)
    assert x.min() >= -1 and x.max() <= 1
    packed = x.reshape(n // info.pack, c * info.pack, *info.shape[1:])
    y_d = None if y is None else y
    out = D(packed, y_d)
    assert out.shape == (n // info.pack,)
    assert torch.isfinite(out).all()
    out.sum().backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        if p.requires_grad:
            assert p.grad is not None, name
            assert torch.isfinite(p.grad).all(), name
    # Gradient must reach G's first layer through D.
    assert G.project.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_sizes(size, channels):
    info = DataInfo((channels, size, size))
    G, D = models.DCGANGenerator(DCGAN_G, info), models.DCGANDiscriminator(DCGAN_D, info)
    assert G.latent_dim == 16
    _check_pair(G, D, info)


@pytest.mark.parametrize("norm", ["spectral", "none"])
def test_dcgan_discriminator_norms(norm):
    info = DataInfo((1, 28, 28))
    cfg = DCGANDiscriminatorConfig(channels=8, norm=norm)
    D = models.DCGANDiscriminator(cfg, info)
    G = models.DCGANGenerator(DCGAN_G, info)
    _check_pair(G, D, info)
    if norm == "spectral":
        assert any("parametrizations" in n for n, _ in D.named_parameters())


def test_dcgan_bad_norm():
    with pytest.raises(ConfigError, match="norm"):
        models.DCGANDiscriminator(DCGANDiscriminatorConfig(norm="layer"), DataInfo((1, 28, 28)))


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_sngan_sizes(size, channels):
    info = DataInfo((channels, size, size))
    G, D = models.SNGANGenerator(SNGAN_G, info), models.SNGANDiscriminator(SNGAN_D, info)
    _check_pair(G, D, info)
    # Every conv / linear of D is spectrally normalised.
    plain = [n for n, m in D.named_modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and not hasattr(m, "parametrizations")]
    assert plain == []


@pytest.mark.parametrize("kind", ["dcgan", "sngan"])
@pytest.mark.parametrize("size", [28, 32])
def test_conditional_variants(kind, size):
    info = DataInfo((1, size, size), num_classes=10)
    if kind == "dcgan":
        G, D = models.DCGANGenerator(DCGAN_G, info), models.DCGANDiscriminator(DCGAN_D, info)
    else:
        G, D = models.SNGANGenerator(SNGAN_G, info), models.SNGANDiscriminator(SNGAN_D, info)
    assert any(isinstance(m, models.ConditionalBatchNorm2d) for m in G.modules())
    assert D.embed is not None
    _check_pair(G, D, info)
    # The label changes the output of G and of D.
    G.eval(), D.eval()
    z = torch.randn(2, G.latent_dim)
    with torch.no_grad():
        # At initialisation every class has gain 1 and bias 0: give class 3 its own.
        cbn = next(m for m in G.modules() if isinstance(m, models.ConditionalBatchNorm2d))
        cbn.gain.weight[3] += 1.0
        a, b = G(z, torch.tensor([3, 3])), G(z, torch.tensor([4, 4]))
        assert not torch.allclose(a, b)
        x = torch.rand(2, 1, size, size) * 2 - 1
        assert not torch.allclose(D(x, torch.tensor([1, 1])), D(x, torch.tensor([2, 2])))


def test_conditional_needs_labels():
    info = DataInfo((1, 28, 28), num_classes=10)
    G = models.DCGANGenerator(DCGAN_G, info)
    with pytest.raises(ValueError, match="labels"):
        G(torch.randn(2, 16))


@pytest.mark.parametrize("kind", ["dcgan", "sngan"])
@pytest.mark.parametrize("pack", [2, 4])
def test_packing(kind, pack):
    info = DataInfo((1, 32, 32), pack=pack)
    if kind == "dcgan":
        G, D = models.DCGANGenerator(DCGAN_G, info), models.DCGANDiscriminator(DCGAN_D, info)
        first = D.features[0]
    else:
        G, D = models.SNGANGenerator(SNGAN_G, info), models.SNGANDiscriminator(SNGAN_D, info)
        first = D.blocks[0].c1
    assert first.in_channels == pack
    _check_pair(G, D, info, n=2 * pack)


def test_packed_projection_sums_label_embeddings():
    info = DataInfo((1, 28, 28), num_classes=10, pack=2)
    D = models.DCGANDiscriminator(DCGAN_D, info).eval()
    x = torch.rand(3, 2, 28, 28) * 2 - 1
    y = torch.tensor([1, 7, 3, 3, 9, 0])  # two labels per packed input, in packing order
    with torch.no_grad():
        out = D(x, y)
        h = D.features(x)
        summed = D.embed(y[0::2]) + D.embed(y[1::2])
        expected = D.head(h.flatten(1)).squeeze(1) + (summed * h.sum(dim=(2, 3))).sum(dim=1)
        swapped = D(x, y.view(3, 2).flip(1).flatten())
        second_changed = D(x, torch.tensor([1, 8, 3, 4, 9, 1]))
    assert out.shape == (3,)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(swapped, out)  # a sum: the order inside a pack does not matter
    assert (second_changed - out).abs().min() > 1e-6  # every packed label counts, not only the first


@pytest.mark.parametrize("size", [10, 30, 48])
def test_unsupported_sizes(size):
    with pytest.raises(ConfigError, match="not supported"):
        models.DCGANGenerator(DCGAN_G, DataInfo((1, size, size)))


@pytest.mark.parametrize("size,depth,base", [(28, 4, 2), (28, 3, 4), (32, 4, 2), (30, 2, 8), (64, 5, 2)])
def test_dcgan_depth_sets_the_stages(size, depth, base):
    """``depth`` stride-2 stages (ceiling halves, odd sizes through 3x3 kernels) at any size."""
    info = DataInfo((3, size, size), pack=2)
    G_cfg = DCGANGeneratorConfig(latent_dim=16, channels=8, depth=depth)
    G = models.DCGANGenerator(G_cfg, info)
    D = models.DCGANDiscriminator(DCGANDiscriminatorConfig(channels=8, depth=depth), info)
    assert G.s0 == base and len(G.widths) == depth
    assert G.widths == [8 * 2 ** (depth - 1 - i) for i in range(depth)]
    assert D.head.in_features == 8 * 2 ** (depth - 1) * base * base
    _check_pair(G, D, info)


def test_dcgan_depth_zero_keeps_the_automatic_plan():
    info = DataInfo((1, 28, 28))
    auto = models.DCGANGenerator(DCGAN_G, info)
    explicit = models.DCGANGenerator(DCGANGeneratorConfig(latent_dim=16, channels=8, depth=2), info)
    assert (auto.s0, auto.widths) == (explicit.s0, explicit.widths) == (7, [16, 8])


@pytest.mark.parametrize("depth,match", [(-1, "depth must be 0"), (6, "too deep for 28-pixel")])
def test_dcgan_bad_depth_is_a_config_error(depth, match):
    with pytest.raises(ConfigError, match=match):
        models.DCGANDiscriminator(DCGANDiscriminatorConfig(channels=8, depth=depth), DataInfo((1, 28, 28)))


def test_non_square_rejected():
    with pytest.raises(ConfigError, match="square"):
        models.SNGANGenerator(SNGAN_G, DataInfo((1, 32, 64)))


@pytest.mark.parametrize("kind", ["dcgan", "sngan"])
def test_a_few_training_steps(kind):
    """Three non-saturating GAN steps on MNIST-shaped data change both nets and stay finite."""
    torch.manual_seed(0)
    info = DataInfo((1, 32, 32))
    if kind == "dcgan":
        G, D = models.DCGANGenerator(DCGAN_G, info), models.DCGANDiscriminator(DCGAN_D, info)
    else:
        G, D = models.SNGANGenerator(SNGAN_G, info), models.SNGANDiscriminator(SNGAN_D, info)
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    sp = torch.nn.functional.softplus
    for _ in range(3):
        fake = G(torch.randn(8, G.latent_dim))
        d_loss = sp(-D(real)).mean() + sp(D(fake.detach())).mean()
        opt_d.zero_grad(); d_loss.backward(); opt_d.step()
        g_loss = sp(-D(G(torch.randn(8, G.latent_dim)))).mean()
        opt_g.zero_grad(); g_loss.backward(); opt_g.step()
        assert torch.isfinite(d_loss) and torch.isfinite(g_loss)
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters()))


def test_projection_term_starts_on_the_head_scale():
    """The projection starts within an order of magnitude of the linear head (measured: 3.7x);
    PyTorch's N(0, 1) embedding default made it 130x."""
    torch.manual_seed(0)
    D = models.DCGANDiscriminator(DCGANDiscriminatorConfig(), DataInfo((1, 28, 28), num_classes=10))
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        h = D.features(x)
        head = D.head(h.flatten(1)).squeeze(1)
        projection = (D.embed(torch.arange(64) % 10) * h.sum(dim=(2, 3))).sum(dim=1)
    assert projection.std() < 10 * head.std()
