"""sparring-timeseries: a 1-D time-series modality, the template of a third-party plugin.

Nothing is imported here: sparring imports ``sparring_timeseries.plugin`` through the
entry point, and torch-heavy modules load only when a factory runs.
"""
__version__ = "0.1.0"
