"""Piano rolls and MIDI: chorales from music21's corpus, MIDI files in and out.

A piece is a binary array ``(tracks, steps, 128)`` (uint8) over all MIDI pitches, on a
grid of ``steps_per_beat`` steps per beat, bar 1 starting at step 0 (pickups dropped).
A repeated note of the same pitch merges with its predecessor (the MuseGAN convention
for binary rolls), so ``roll -> MIDI -> roll`` is exact while ``score -> roll`` is not
invertible. numpy at module level; music21 and pretty_midi inside the functions.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger("sparring.audio")

VOICES = ("soprano", "alto", "tenor", "bass")
CACHE_VERSION = 1
#: General MIDI program of every written track (19: church organ, fits chorales).
DEFAULT_PROGRAM = 19


def cache_root() -> Path:
    root = os.environ.get("SPARRING_CACHE") or "~/.cache/sparring"
    return Path(root).expanduser() / "audio"


# --- roll <-> notes ------------------------------------------------------------------


def note_runs(track: np.ndarray):
    """Yield ``(pitch, start_step, end_step)`` for each run of ones in a (steps, pitches) roll."""
    track = np.asarray(track).astype(bool)
    padded = np.zeros((track.shape[0] + 2, track.shape[1]), dtype=np.int8)
    padded[1:-1] = track
    diff = np.diff(padded, axis=0)
    for pitch in range(track.shape[1]):
        starts = np.flatnonzero(diff[:, pitch] == 1)
        ends = np.flatnonzero(diff[:, pitch] == -1)
        for s, e in zip(starts, ends):
            yield pitch, int(s), int(e)


def roll_to_midi(roll, path=None, steps_per_beat: int = 4, tempo_bpm: float = 100.0,
                 lowest_pitch: int = 0, names=VOICES, program: int = DEFAULT_PROGRAM,
                 velocity: int = 90):
    """A ``pretty_midi.PrettyMIDI`` with one instrument per track of ``roll``
    (tracks, steps, pitches); pitch index ``i`` is MIDI pitch ``lowest_pitch + i``.
    Written to ``path`` when given."""
    import pretty_midi

    roll = np.asarray(roll)
    if roll.ndim == 2:
        roll = roll[None]
    step_seconds = 60.0 / tempo_bpm / steps_per_beat
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    for t in range(roll.shape[0]):
        name = names[t] if t < len(names) else f"track {t}"
        inst = pretty_midi.Instrument(program=program, name=name)
        for pitch, start, end in note_runs(roll[t] > 0):
            inst.notes.append(pretty_midi.Note(velocity=velocity, pitch=lowest_pitch + pitch,
                                               start=start * step_seconds, end=end * step_seconds))
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
        pm.instruments.append(inst)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        pm.write(str(path))
    return pm


#: The most time steps one file's roll may have (2**18: 65,536 beats, 9 hours at 120 bpm with
#: 4 steps a beat); a longer file is refused before its roll is allocated.
MAX_STEPS = 1 << 18


MAX_MIDI_BYTES = 64 << 20  # a long symphony is a few hundred KiB


def check_midi_chunks(path) -> None:
    """Walk a Standard MIDI File's chunk headers; a chunk claiming more bytes than the
    file holds is refused here (the MIDI reader would allocate what it claims first)."""
    size = os.path.getsize(path)
    if size > MAX_MIDI_BYTES:
        raise ValueError(f"{size:,} bytes, more than the limit of {MAX_MIDI_BYTES:,} for a MIDI file")
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] != b"MThd":
        raise ValueError("no MThd header: not a Standard MIDI File")
    pos = 0
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        rest = len(data) - pos - 8
        if length > rest:
            raise ValueError(f"chunk {kind!r} at byte {pos} claims {length:,} bytes but {rest:,} remain "
                             "(a cut or corrupt file)")
        pos += 8 + length


def midi_to_roll(midi, tracks: int | None = None, steps_per_beat: int = 4, names=VOICES) -> np.ndarray:
    """A (tracks, steps, 128) uint8 roll from a MIDI path or ``PrettyMIDI`` on the file's
    own beat grid (tempo changes followed). When every instrument is named after a track
    in ``names`` (files this plugin wrote: a silent track has no instrument in the file)
    they go to those tracks; otherwise the first ``tracks`` non-drum instruments are used
    in order (missing ones are silent). ``tracks`` None takes all of them."""
    import pretty_midi

    if not isinstance(midi, pretty_midi.PrettyMIDI):
        check_midi_chunks(midi)
    pm = midi if isinstance(midi, pretty_midi.PrettyMIDI) else pretty_midi.PrettyMIDI(str(midi))
    instruments = [i for i in pm.instruments if not i.is_drum]
    if not any(inst.notes for inst in instruments):
        raise ValueError("no notes in any non-drum instrument")
    # The roll's length from the last note's tick, before the beat grid or the roll exist.
    last_tick = max(pm.time_to_tick(n.end) for inst in instruments for n in inst.notes)
    steps = last_tick / max(pm.resolution, 1) * steps_per_beat
    if steps > MAX_STEPS:
        raise ValueError(f"its notes run to beat {last_tick / max(pm.resolution, 1):,.0f}: "
                         f"{steps:,.0f} steps, more than the limit of {MAX_STEPS:,}")
    lookup = {name.lower(): k for k, name in enumerate(names)}
    if all(inst.name.lower() in lookup for inst in instruments):
        n_tracks = len(names) if tracks is None else tracks
        placed = [(lookup[inst.name.lower()], inst) for inst in instruments]
        instruments = [None] * n_tracks
        for k, inst in placed:
            if k < n_tracks:
                instruments[k] = inst
    else:
        n_tracks = len(instruments) if tracks is None else tracks
        instruments = instruments[:n_tracks]
    beats = np.asarray(pm.get_beats(), dtype=np.float64)
    if len(beats) < 2:
        beats = np.array([0.0, 60.0 / 120.0])

    def to_step(seconds: float) -> int:
        if seconds <= beats[-1]:
            beat = np.interp(seconds, beats, np.arange(len(beats)))
        else:  # past the last beat: keep its spacing
            beat = len(beats) - 1 + (seconds - beats[-1]) / (beats[-1] - beats[-2])
        return int(round(beat * steps_per_beat))

    notes = [(t, n.pitch, to_step(n.start), to_step(n.end))
             for t, inst in enumerate(instruments) if inst is not None for n in inst.notes]
    length = max(end for *_, end in notes)
    roll = np.zeros((n_tracks, length, 128), dtype=np.uint8)
    for t, pitch, start, end in notes:
        roll[t, start:max(end, start + 1), pitch] = 1
    return roll


# --- chorales from music21 -------------------------------------------------------------


def chorale_names() -> list[str]:
    """The 371 chorale names of music21's corpus (e.g. ``bach/bwv269``), in corpus order."""
    from music21 import corpus

    return [str(n) for n in corpus.chorales.Iterator(returnType="filename")]


def score_to_roll(score, steps_per_beat: int = 4) -> np.ndarray:
    """A 4/4 music21 score's first four parts as a (4, steps, 128) roll; raises ValueError
    for other metres, fewer than four parts or no notes."""
    parts = list(score.parts)
    if len(parts) < 4:
        raise ValueError(f"{len(parts)} parts, need 4 (soprano, alto, tenor, bass)")
    signatures = {ts.ratioString for ts in score.recurse().getElementsByClass("TimeSignature")}
    if signatures != {"4/4"}:
        raise ValueError(f"time signature {'/'.join(sorted(signatures)) or 'missing'}, not 4/4")
    measures = parts[0].getElementsByClass("Measure")
    first = float(measures[0].duration.quarterLength) if len(measures) else 4.0
    pickup = first if first < 4.0 else 0.0
    events = []
    for t, part in enumerate(parts[:4]):
        for el in part.flatten().notes:
            start = (float(el.offset) - pickup) * steps_per_beat
            end = start + float(el.duration.quarterLength) * steps_per_beat
            on, off = int(round(start)), int(round(end))
            if on < 0 or off <= on:  # pickup or grace note
                continue
            for p in el.pitches:
                events.append((t, int(p.midi), on, off))
    if not events:
        raise ValueError("no notes after the pickup")
    length = max(e[3] for e in events)
    roll = np.zeros((4, length, 128), dtype=np.uint8)
    for t, pitch, on, off in events:
        roll[t, on:off, pitch] = 1
    return roll


def _cache_name(name: str) -> str:
    return name.replace("/", "_")


def _convert_one(args) -> tuple[str, str | None]:
    """Worker: parse one chorale and cache its roll (or a .skip file with the reason)."""
    name, folder, steps_per_beat = args
    from music21 import corpus

    folder = Path(folder)
    try:
        roll = score_to_roll(corpus.parse(name), steps_per_beat)
    except Exception as exc:  # music21 raises many kinds; one bad chorale must not stop the rest
        reason = f"{type(exc).__name__}: {exc}"
        (folder / (_cache_name(name) + ".skip")).write_text(reason, encoding="utf-8")
        return name, reason
    tmp = folder / f"{_cache_name(name)}.tmp{os.getpid()}.npz"  # two runs may convert at once
    np.savez_compressed(tmp, roll=np.packbits(roll, axis=-1), steps=roll.shape[1])
    tmp.replace(folder / (_cache_name(name) + ".npz"))
    return name, None


def chorale_rolls(max_chorales: int = 0, steps_per_beat: int = 4, workers: int = 0,
                  progress: bool = True) -> tuple[list[str], list[np.ndarray], list[tuple[str, str]]]:
    """``(names, rolls, skipped)``: the chorales as (4, steps, 128) rolls, converted once
    in parallel and cached per chorale; ``skipped`` holds ``(name, reason)``."""
    names = chorale_names()
    if max_chorales and max_chorales > 0:
        names = names[:max_chorales]
    folder = cache_root() / f"chorales-v{CACHE_VERSION}-spb{steps_per_beat}"
    folder.mkdir(parents=True, exist_ok=True)
    todo = [n for n in names if not (folder / (_cache_name(n) + ".npz")).is_file()
            and not (folder / (_cache_name(n) + ".skip")).is_file()]
    if todo:
        _convert_all(todo, folder, steps_per_beat, workers, progress)
    rolls, kept, skipped = [], [], []
    for name in names:
        base = str(folder / _cache_name(name))
        if not Path(base + ".npz").is_file():
            skipped.append((name, Path(base + ".skip").read_text(encoding="utf-8")))
            continue
        with np.load(base + ".npz") as data:
            steps = int(data["steps"])
            rolls.append(np.unpackbits(data["roll"], axis=-1, count=128)[:, :steps])
        kept.append(name)
    return kept, rolls, skipped


def _convert_all(todo, folder, steps_per_beat, workers, progress) -> None:
    from tqdm.auto import tqdm

    workers = workers or os.cpu_count() or 1
    workers = max(1, min(workers, len(todo)))
    jobs = [(name, str(folder), steps_per_beat) for name in todo]
    log.warning("converting %d chorales from music21 to piano rolls with %d processes (once; "
                "cached in %s)", len(todo), workers, folder)
    bar = tqdm(total=len(todo), desc="chorales -> piano rolls", unit="chorale",
               disable=not progress or None)
    try:
        if workers == 1:
            for job in jobs:
                _convert_one(job)
                bar.update(1)
        else:
            import concurrent.futures as cf

            with cf.ProcessPoolExecutor(workers) as pool:
                for _ in pool.map(_convert_one, jobs, chunksize=4):
                    bar.update(1)
    finally:
        bar.close()
