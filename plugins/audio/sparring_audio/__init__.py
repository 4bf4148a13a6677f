"""sparring-audio: the ``music`` (piano rolls, MIDI) and ``audio`` (waveforms) modalities.

Importing this package is cheap; torch, torchaudio, music21 and pretty_midi are imported
inside the functions that need them.
"""

__version__ = "0.1.0"
