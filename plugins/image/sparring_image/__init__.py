"""sparring-image: the image modality for sparring.

Models (DCGAN, SNGAN and their class-conditional variants), offline datasets (MNIST,
digits, Stacked MNIST, a folder of images), differentiable augmentation with an
adaptive probability, a PNG grid writer and offline classifier-feature metrics.
The hook implementations are in :mod:`sparring_image.plugin`.
"""

__version__ = "0.1.0"
