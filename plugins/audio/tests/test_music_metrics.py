import math

import pytest
import torch

from sparring_audio import music_metrics as M

LOW = 48  # index 0 is C3; index 12 is C4


def hand_made():
    """Two tracks, two bars of 16 steps, 24 pitches from C3."""
    x = torch.zeros(1, 2, 32, 24, dtype=torch.bool)
    x[0, 0, 0:4, 12] = True     # C4, 4 steps
    x[0, 0, 4:6, 16] = True     # E4, 2 steps
    x[0, 0, 6, 13] = True       # C#4, 1 step
    x[0, 0, 8:16, 19] = True    # G4, 8 steps; bar 2 of track 0 is empty
    x[0, 1, 0:32, 0] = True     # C3 held for both bars: 32 steps
    x[0, 1, 20, 7] = True       # G3, 1 step, under the held C3
    return x


def test_each_metric_on_a_hand_made_roll():
    x = hand_made()
    assert M.empty_bars(x) == pytest.approx(1 / 4)
    assert M.empty_bar_cells(x).tolist() == [[[False, True], [False, False]]]  # track 0, bar 2
    assert M.rest_bars(x) == pytest.approx(2 / 4)  # track 0: step 7 of bar 1 is silent, bar 2 empty
    x_full = x.clone()
    x_full[0, 0, 7, 12] = True
    x_full[0, 0, 16:, 12] = True
    assert M.rest_bars(x_full) == 0.0
    assert M.used_pitch_classes(x, lowest_pitch=LOW) == pytest.approx((4 + 1 + 2) / 3)
    assert M.qualified_notes(x) == pytest.approx(3 / 6)
    assert M.polyphony(x) == pytest.approx(1 / (15 + 32))
    assert M.in_scale(x, lowest_pitch=LOW) == pytest.approx(47 / 48)


def test_rest_profile_tells_a_tutti_rest_from_one_voice_dropping_out():
    x = hand_made()  # track 0: step 7 silent, bar 2 empty; track 1 sounds throughout
    p = M.rest_profile(x)
    assert p["silent_steps"] == pytest.approx(17 / 64)
    assert p["tutti_rest_steps"] == 0.0
    assert p["rest_bars_by_track"] == [1.0, 0.0] and p["empty_bars_by_track"] == [0.5, 0.0]
    assert p["empty_in_tutti_bars"] == 0.0  # track 0 dropped out alone
    tutti = x.clone()
    tutti[0, 1, 16:] = False  # now both tracks rest through bar 2
    p = M.rest_profile(tutti)
    assert p["tutti_rest_steps"] == pytest.approx(16 / 32)
    assert p["empty_bars_by_track"] == [0.5, 0.5] and p["empty_in_tutti_bars"] == 1.0
    assert M.rest_profile(torch.ones(1, 2, 32, 4, dtype=torch.bool))["empty_in_tutti_bars"] == 0.0


def _centroid(counts):
    total = sum(counts.values())
    out = [0.0] * 6
    for pc, n in counts.items():
        for k, (r, a) in enumerate(((1, 7 * math.pi / 6), (1, 3 * math.pi / 2), (0.5, 2 * math.pi / 3))):
            out[2 * k] += r * math.sin(pc * a) * n / total
            out[2 * k + 1] += r * math.cos(pc * a) * n / total
    return out


def test_tonal_distance_matches_harte_centroids():
    x = hand_made()
    # Only bar 1 has both voices: track 0 has C:4, C#:1, E:2, G:8 steps; track 1 only C.
    a, b = _centroid({0: 4, 1: 1, 4: 2, 7: 8}), _centroid({0: 16})
    expected = math.dist(a, b)
    assert M.tonal_distance(x, lowest_pitch=LOW) == pytest.approx(expected, rel=1e-5)
    same = torch.zeros(1, 2, 16, 24, dtype=torch.bool)
    same[0, :, :, 12] = True
    assert M.tonal_distance(same, lowest_pitch=LOW) == pytest.approx(0.0, abs=1e-6)


def test_floats_are_binarised_at_zero_and_gap():
    x = hand_made()
    as_float = x.float() * 2 - 1
    assert M.musegan_metrics(as_float, lowest_pitch=LOW) == M.musegan_metrics(x, lowest_pitch=LOW)
    res = M.compute(as_float, x)
    assert res["gap"] == 0.0
    silent = torch.zeros_like(x)
    assert M.empty_bars(silent) == 1.0 and M.qualified_notes(silent) == 0.0
    assert M.compute(silent, x)["gap"] > 0.5


def test_qualified_notes_counts_runs_at_the_edges():
    x = torch.zeros(1, 1, 16, 12, dtype=torch.bool)
    x[0, 0, 13:16, 0] = True   # 3 steps ending at the last step: qualified
    x[0, 0, 0:2, 5] = True     # 2 steps from the first step: not
    assert M.qualified_notes(x) == pytest.approx(0.5)


def test_diversity_is_zero_for_copies_and_one_for_disjoint_samples():
    x = hand_made()  # on-cells: 4 + 2 + 1 + 8 + 32 + 1 = 48
    assert M.diversity(torch.cat([x, x])) == pytest.approx(0.0)  # a collapsed generator
    shifted = torch.roll(x, shifts=1, dims=3)  # every note a semitone up: nothing shared
    assert M.diversity(torch.cat([x, shifted])) == pytest.approx(1.0)
    half = x.clone()
    half[0, 1] = False  # keeps track 0's 15 cells of the 48
    assert M.diversity(torch.cat([x, half])) == pytest.approx(1 - 15 / 48)
    assert M.diversity(x) == 0.0  # one sample: no pair
    assert "diversity" in M.musegan_metrics(torch.cat([x, shifted]), lowest_pitch=LOW)
