"""sparring-medical: the medical modality for sparring (MRI and CT, 2-D slices and 3-D volumes).

Models on MONAI's networks (Generator, Discriminator, Critic, PatchDiscriminator,
MultiScalePatchDiscriminator) plus an N-D DCGAN with spectral normalisation; datasets
from a folder of NIfTI/DICOM scans, the MNI152 template shipped with nilearn and MONAI's
synthetic phantoms; NIfTI and PNG-montage writers; MS-SSIM, MMD, autoencoder-feature
Frechet and intensity-histogram metrics. Hook implementations: :mod:`sparring_medical.plugin`.
"""

__version__ = "0.1.0"
