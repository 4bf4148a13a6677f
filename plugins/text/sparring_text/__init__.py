"""sparring-text: Gumbel-softmax text GANs for sparring (modality ``text``)."""

__version__ = "0.1.0"
