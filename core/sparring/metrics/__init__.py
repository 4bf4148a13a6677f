"""Generic evaluation metrics: Frechet distance, KID, PRDC and mixture mode metrics."""
from .frechet import feature_statistics, frechet_distance, frechet_distance_from_features
from .kid import kernel_inception_distance
from .mixture import grid_centers, mixture_mode_metrics, ring_centers
from .prdc import precision_recall_density_coverage

__all__ = [
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_features",
    "kernel_inception_distance",
    "precision_recall_density_coverage",
    "mixture_mode_metrics",
    "ring_centers",
    "grid_centers",
]
