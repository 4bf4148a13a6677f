"""sparring.layers: spectral_norm (torch's numbers and state-dict keys, and it compiles), the
minibatch deviation feature and the class-label check."""
import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm

from sparring.layers import append_minibatch_std, spectral_norm


def pair(make):
    torch.manual_seed(3)
    theirs = torch_spectral_norm(make())
    torch.manual_seed(3)
    ours = spectral_norm(make())
    return theirs, ours


@pytest.mark.parametrize("make, x", [
    (lambda: nn.Conv2d(3, 8, 3, padding=1), torch.randn(4, 3, 8, 8)),
    (lambda: nn.Linear(16, 1), torch.randn(4, 16)),
    (lambda: nn.Embedding(10, 6), torch.arange(4)),
])
def test_matches_torchs_parametrization_in_training_and_eval(make, x):
    theirs, ours = pair(make)
    assert theirs.state_dict().keys() == ours.state_dict().keys()
    for _ in range(3):
        torch.testing.assert_close(theirs(x), ours(x), rtol=1e-4, atol=1e-4)
    for k, v in theirs.state_dict().items():
        mine = ours.state_dict()[k]
        if k.endswith(("_u", "_v")):  # estimates of the singular vectors: unit length
            torch.testing.assert_close(mine.norm(), torch.tensor(1.0))
        else:
            torch.testing.assert_close(v, mine)
    theirs.eval(), ours.eval()
    u = ours.parametrizations.weight[0]._u.clone()
    torch.testing.assert_close(theirs(x), ours(x), rtol=1e-4, atol=1e-4)
    assert torch.equal(u, ours.parametrizations.weight[0]._u)  # eval does not iterate
    # The largest singular value of the normalised weight is close to one.
    w = ours.weight.detach().flatten(1)
    assert abs(torch.linalg.matrix_norm(w, ord=2).item() - 1) < 0.05


class TwoCalls(nn.Module):
    """Like SNGAN's first D block: a 3-channel input through spectrally normalised convs."""

    def __init__(self, sn):
        super().__init__()
        self.c = sn(nn.Conv2d(3, 4, 3, padding=1))
        self.shortcut = sn(nn.Conv2d(3, 4, 1))

    def forward(self, x):
        return (self.c(x) + self.shortcut(x)).mean(dim=(1, 2, 3))


def test_a_compiled_module_called_twice_before_backward_gets_eager_gradients():
    # D(real) and D(fake) before one backward: torch's own parametrization fails here
    # once compiled ("modified by an inplace operation").
    torch.manual_seed(0)
    eager = TwoCalls(spectral_norm)
    compiled_module = TwoCalls(spectral_norm)
    compiled_module.load_state_dict(eager.state_dict())
    compiled = torch.compile(compiled_module)
    real, fake = torch.randn(2, 3, 6, 6), torch.randn(2, 3, 6, 6)
    for model in (eager, compiled):
        loss = nn.functional.softplus(-model(real)).mean() + nn.functional.softplus(model(fake)).mean()
        loss.backward()
    for (name, a), b in zip(eager.named_parameters(), compiled_module.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-6, msg=name)
    for k, v in eager.state_dict().items():
        torch.testing.assert_close(v, compiled_module.state_dict()[k])


def test_compile_with_spectral_norm_has_no_graph_breaks_and_eager_gradients():
    # The power iteration runs before the compiled call: one graph, the same numbers.
    import torch._dynamo

    from sparring.layers import compile_with_spectral_norm

    torch.manual_seed(0)
    eager = TwoCalls(spectral_norm)
    compiled_module = TwoCalls(spectral_norm)
    compiled_module.load_state_dict(eager.state_dict())
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = compile_with_spectral_norm(compiled_module)
    for step in range(3):
        real, fake = torch.randn(2, 3, 6, 6), torch.randn(2, 3, 6, 6)
        for model in (eager, compiled):
            loss = nn.functional.softplus(-model(real)).mean() + nn.functional.softplus(model(fake)).mean()
            loss.backward()
        for (name, a), b in zip(eager.named_parameters(), compiled_module.parameters()):
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-6, msg=f"{name} at step {step}")
        for k, v in eager.state_dict().items():
            torch.testing.assert_close(v, compiled_module.state_dict()[k])
    counters = torch._dynamo.utils.counters
    assert not counters["graph_break"], dict(counters["graph_break"])
    assert counters["stats"]["unique_graphs"] == 1  # one graph for all three steps' six calls
    compiled_module.eval()  # eval: no iteration, the compiled module reads the buffers
    u = compiled_module.c.parametrizations.weight[0]._u.clone()
    torch.testing.assert_close(compiled(real), eager.eval()(real), rtol=1e-4, atol=1e-6)
    assert torch.equal(u, compiled_module.c.parametrizations.weight[0]._u)


def test_minibatch_std_is_the_batch_spread_appended_to_every_row():
    torch.manual_seed(0)
    h = torch.randn(5, 7)
    out = append_minibatch_std(h)
    assert out.shape == (5, 8) and torch.equal(out[:, :7], h)
    expected = h.std(0, unbiased=False).mean()  # per feature over the batch, then averaged
    assert torch.allclose(out[:, 7], expected.expand(5), atol=1e-6)
    # a collapsed batch reads sqrt(1e-8), not 0, and its gradient stays finite
    same = torch.randn(1, 7).expand(4, -1).clone().requires_grad_(True)
    spread = append_minibatch_std(same)[:, 7]
    assert torch.allclose(spread, torch.full((4,), 1e-4))
    spread.sum().backward()
    assert torch.isfinite(same.grad).all()
    # bf16 features keep their dtype; the statistic is computed in float32
    assert append_minibatch_std(h.bfloat16()).dtype == torch.bfloat16


def test_class_labels_flattens_checks_and_ignores():
    from sparring.layers import class_labels

    class Model(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.num_classes = num_classes

    labels = class_labels(Model(10), torch.tensor([[3], [7]], dtype=torch.int32))
    assert labels.dtype == torch.long and labels.tolist() == [3, 7]
    assert class_labels(Model(None), torch.tensor([1, 2])) is None  # unconditional: labels unused
    with pytest.raises(ValueError, match="Model is class-conditional: pass labels y"):
        class_labels(Model(10), None)
