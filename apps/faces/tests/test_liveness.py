"""The head-turn liveness check on real public photos (data/faces): a real turn between two photos passes in its
direction and is "wrong_way" in the other, a flat print squeezed or turned in perspective does not move the nose
against the eyes, another person's face (from the start or swapped in) fails, frames without exactly one face are
refused, and the Y4M clip for the browser's fake camera reads back with the face still found.

Sign convention (liveness.yaw): positive = the nose towards the image's right = the person turned to their own
left. Measured: obama.jpg -0.022 (frontal), obama2.jpg -0.140 (turned to his own right), obama3.jpg +0.102 (to his
own left), biden.jpg +0.094, biden2.jpg +0.048."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.faces import engine, liveness, video

FACES = Path(__file__).resolve().parents[3] / "data" / "faces"  # copied from ../shared/data/faces (test use only)


def _b(name: str) -> bytes:
    return (FACES / name).read_bytes()


def _print_turned(im: Image.Image, degrees: float, distance: float) -> np.ndarray:
    """A flat print rotated about its vertical centre line, seen in perspective from `distance` print widths away."""
    w, h = im.size
    cx, cy = w / 2, h / 2
    k, c = np.tan(np.radians(degrees)) / (distance * w), np.cos(np.radians(degrees))
    # output pixel (u, v) -> print pixel: X = (x / c) / (1 - k x) and Y = y / (1 - k x), x and y from the centre
    coeffs = np.array([1 / c - cx * k, 0, cx - cx / c + cx * cx * k, -cy * k, 1, cy * cx * k, -k, 0]) / (1 + k * cx)
    return np.asarray(im.transform((w, h), Image.PERSPECTIVE, tuple(coeffs), Image.BICUBIC))


@pytest.fixture(scope="module")
def obama():
    return engine.one_face(_b("obama/obama.jpg")).encoding


@pytest.mark.parametrize("name, expected", [
    ("obama/obama.jpg", -0.022), ("obama/obama2.jpg", -0.140), ("obama/obama3.jpg", 0.102),
    ("biden/biden.jpg", 0.094), ("biden/biden2.jpg", 0.048),
])
def test_yaw_of_the_photos(name, expected):
    img = engine.load(FACES / name)
    (box,) = engine.detect(img)
    assert liveness.yaw(img, box) == pytest.approx(expected, abs=0.01)
    mirrored = np.ascontiguousarray(img[:, ::-1])  # the same face mirrored: the sign flips
    (mbox,) = engine.detect(mirrored)
    assert liveness.yaw(mirrored, mbox) == pytest.approx(-expected, abs=0.015)


@pytest.mark.parametrize("frames, direction, code", [
    (["obama/obama.jpg", "obama/obama2.jpg"], "right", "ok"),  # -0.022 -> -0.140: nose to the image's left
    (["obama/obama.jpg", "obama/obama2.jpg"], "left", "wrong_way"),
    (["obama/obama.jpg", "obama/obama3.jpg"], "left", "ok"),  # -0.022 -> +0.102
    (["obama/obama.jpg", "obama/obama3.jpg"], "right", "wrong_way"),
    (["obama/obama3.jpg", "obama/obama.jpg", "obama/obama2.jpg"], "right", "ok"),  # the best pair is frames 0 and 2
    (["obama/obama2.jpg", "obama/obama.jpg"], "right", "wrong_way"),  # turning back from the right is to the left
    (["obama/obama.jpg", "obama/obama_small.jpg"], "left", "no_turn"),  # two frontal frames
])
def test_a_real_turn_passes_in_its_direction_only(obama, frames, direction, code):
    r = liveness.check([_b(f) for f in frames], direction, obama)
    assert (r.code, r.passed) == (code, code == "ok"), r
    if code == "ok":
        assert r.shift >= 0.1 and r.distance < engine.THRESHOLD and r.message == "活体检测通过"
        assert r.photo_index == frames.index("obama/obama.jpg")  # the most frontal frame is the photo kept
    if code == "wrong_way":
        assert r.shift < 0.1 and "转头方向不对" in r.message
    assert len(r.yaws) == len(frames)


def test_without_an_enrolled_face_only_the_turn_is_checked():
    r = liveness.check([_b("obama/obama.jpg"), _b("obama/obama3.jpg")], "left", None)
    assert r.passed and r.distance is None


def test_a_flat_print_squeezed_or_turned_in_perspective_does_not_pass(obama):
    photo = Image.open(FACES / "obama/obama.jpg").convert("RGB")
    l, t, r, b = engine.detect(np.asarray(photo))[0]
    face = photo.crop((l - 200, t - 200, r + 200, b + 200))  # a print of the face, held up to the phone
    w, h = face.size
    frames = [np.asarray(face)]
    frames += [np.asarray(face.resize((round(w * f), h), Image.BILINEAR)) for f in (0.8, 0.6)]  # turned, seen flat
    frames += [_print_turned(face, d, 3) for d in (30, -30)]  # turned 30 degrees each way, 3 widths away
    for direction in ("left", "right"):
        res = liveness.check(frames, direction, obama)
        assert res.code == "no_turn" and not res.passed and res.shift < 0.1, res
        assert max(res.yaws) - min(res.yaws) < 0.1
        assert "未检测到转头动作" in res.message


def test_another_person_fails_even_with_a_real_looking_turn(obama):
    biden = Image.open(FACES / "biden/biden.jpg").convert("RGB")
    frames = [np.asarray(biden), np.asarray(biden.transpose(Image.FLIP_LEFT_RIGHT))]  # +0.094 -> -0.094
    r = liveness.check(frames, "right", obama)
    assert r.code == "mismatch" and not r.passed and r.shift >= 0.1 and r.distance > engine.THRESHOLD
    assert "不符" in r.message


@pytest.mark.parametrize("second, direction, code", [
    ("biden/biden.jpg", "left", "mismatch"),  # the turn is there (-0.022 -> +0.094) but the turned face is Biden
    ("biden/biden2.jpg", "left", "mismatch"),  # no turn either (-0.022 -> +0.048): who it is is reported first
    ("biden/biden2.jpg", "right", "mismatch"),
])
def test_a_face_swapped_in_during_the_turn_fails(obama, second, direction, code):
    r = liveness.check([_b("obama/obama.jpg"), _b(second)], direction, obama)
    assert r.code == code and not r.passed


@pytest.mark.parametrize("frames, code, frame, words", [
    (["obama/obama.jpg"], "too_few_frames", None, "至少2帧"),
    (["obama/obama.jpg", "multi/two_people.jpg"], "many_faces", 1, "第2帧中有2张人脸"),
    (["obama/obama.jpg", b"not a jpeg"], "not_an_image", 1, "第2帧：无法识别的图片"),
    (["obama/obama.jpg", "blank"], "no_face", 1, "第2帧未检测到人脸"),
])
def test_frames_without_exactly_one_face_are_refused(obama, frames, code, frame, words):
    blank = np.full((300, 400, 3), 200, np.uint8)
    data = [blank if f == "blank" else f if isinstance(f, bytes) else _b(f) for f in frames]
    r = liveness.check(data, "left", obama)
    assert (r.code, r.frame, r.passed) == (code, frame, False) and words in r.message, r


def test_the_settings_like_keywords():
    frames = [_b("obama/obama.jpg"), _b("obama/obama3.jpg")]
    assert liveness.check(frames, "left", None, min_shift=0.2).code == "no_turn"
    assert liveness.check(frames, "left", None, min_frames=3).code == "too_few_frames"
    assert liveness.check(frames, "left", np.zeros(128), threshold=0.6).code == "mismatch"
    with pytest.raises(ValueError):
        liveness.check(frames, "up", None)


def test_a_y4m_clip_reads_back_with_the_face_still_found(tmp_path, obama):
    path = tmp_path / "clip.y4m"
    n = video.write_y4m(path, [FACES / "obama/obama.jpg", engine.load(FACES / "biden/biden.jpg")], seconds_each=0.3)
    assert n == 6
    raw = path.read_bytes()
    header = b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n"
    assert raw.startswith(header + b"FRAME\n")
    assert len(raw) == len(header) + 6 * (6 + 640 * 480 * 3 // 2)
    frames = video.read_y4m_frames(path)
    assert len(frames) == 6 and all(f.shape == (480, 640, 3) and f.dtype == np.uint8 for f in frames)
    assert np.array_equal(frames[0], frames[2]) and not np.array_equal(frames[2], frames[3])
    face = engine.one_face(frames[0])
    assert engine.distance(face.encoding, obama) < 0.2
    assert engine.compare(engine.one_face(frames[3]).encoding, obama).match is False
