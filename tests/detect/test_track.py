import numpy as np
import pytest

from harness.detect.track import frontalness, iou, quality, sharpness, track


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)


def test_two_people_two_tracks_and_gap_handling():
    frames = []
    for f in range(10):
        boxes = [(10 + f, 10, 50 + f, 50)]
        if f < 6:
            boxes.append((200, 200 + f, 240, 240 + f))
        frames.append(boxes)
    frames[4] = [frames[4][1]]  # person 1 missed for one frame
    tracks = track(frames, max_gap=2)
    assert len(tracks) == 2
    assert sorted(len(t.items) for t in tracks) == [6, 9]


def test_long_gap_starts_a_new_visit_and_singletons_are_dropped():
    frames = [[(0, 0, 40, 40)], [(0, 0, 40, 40)], [], [], [], [], [(0, 0, 40, 40)], [(0, 0, 40, 40)], [(500, 500, 540, 540)]]
    tracks = track(frames, max_gap=3, min_frames=2)
    assert len(tracks) == 2


def test_quality_terms():
    flat = np.full((40, 40), 128.0)
    edges = np.tile([0.0, 255.0], (40, 20))
    assert sharpness(edges) > sharpness(flat) == 0.0
    frontal = np.array([[60, 50], [52, 50], [28, 50], [36, 50], [44, 70]], float)
    turned = frontal.copy()
    turned[4, 0] = 58
    assert frontalness(frontal) == pytest.approx(1.0, abs=0.01) and frontalness(turned) < 0.5
    assert quality(40, 1000, 1.0) > quality(10, 1000, 1.0) > 0
