"""benchmarks/chorale_empty_bars.py: the data's empty bars traced to their chorales."""
import runpy
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "chorale_empty_bars.py"


@pytest.fixture(scope="module")
def bench():
    return runpy.run_path(str(SCRIPT))  # globals of the script, main() not run


def _roll(bars: int, silent=()):
    """(4, bars*16, 128): every voice holds one note in range, except the (voice, bar) cells in ``silent``."""
    roll = np.zeros((4, bars * 16, 128), np.uint8)
    for voice, pitch in enumerate((72, 65, 57, 48)):
        roll[voice, :, pitch] = 1
    for voice, bar in silent:
        roll[voice, bar * 16:(bar + 1) * 16] = 0
    return roll


def test_empty_cells_are_traced_to_their_chorale_and_silent_bars_told_apart(bench):
    everyone_rests = [(v, 5) for v in range(4)]  # bar 5 of 8: windows starting at bars 2, 3, 4 hold it
    rolls = [_roll(8), _roll(8, everyone_rests), _roll(8, [(1, 0)])]  # bar 0: only the first window
    rows, segments = bench["empty_bar_sources"](["full", "tacet", "alto-rest"], rolls, bars=4, steps_per_bar=16,
                                                hop_bars=1, lowest_pitch=36, num_pitches=48)
    assert segments == 15  # five 4-bar windows of each 8-bar roll, the chorales without empty cells too
    assert [r["chorale"] for r in rows] == ["tacet", "alto-rest"]  # most cells first; "full" has none
    tacet, alto = rows
    assert tacet == {"chorale": "tacet", "segments": 5, "empty_cells": 12, "in_silent_bars": 12,
                     "by_voice": [3, 3, 3, 3]}
    assert alto == {"chorale": "alto-rest", "segments": 5, "empty_cells": 1, "in_silent_bars": 0,
                    "by_voice": [0, 1, 0, 0]}


def test_report_gives_the_rate_the_band_and_the_standard_error(bench):
    rows = [{"chorale": "a", "segments": 10, "empty_cells": 3, "in_silent_bars": 0, "by_voice": [0, 3, 0, 0]}]
    text = bench["report"](rows, total_segments=100, tracks=4, bars=4, samples=[100, 10000])
    assert "1600 cells; 3 empty: rate 0.0019" in text
    assert "| a | 10 | 3 | 100% | 0 | 0/3/0/0 |" in text
    se_100 = np.sqrt(0.001875 * (1 - 0.001875) / 1600)
    assert bench["resolution"](0.001875, 16, 100) == pytest.approx(se_100)
    assert f"| 100 | {se_100:.5f} | {0.0001875 / se_100:.2f} |" in text
    # a hundred times the phrases: a tenth of the error
    assert bench["resolution"](0.001875, 16, 10000) == pytest.approx(se_100 / 10)


def test_the_script_runs_on_real_chorales(bench, two_chorales, capsys):
    assert bench["main"](["--max-chorales", "2", "--samples", "500"]) == 0
    out = capsys.readouterr().out
    assert "training segments x 4 voices x 4 bars" in out
    assert "| 500 |" in out


def test_bad_sample_counts_are_refused_with_a_message(bench, capsys):
    with pytest.raises(SystemExit):
        bench["main"](["--samples", "ten"])
    assert "comma list of whole numbers" in capsys.readouterr().err
