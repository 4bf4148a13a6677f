"""The core's own plugin: built-in losses, regularizers and the toy 2-D modality."""
