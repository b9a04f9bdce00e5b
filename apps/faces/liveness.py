"""A head-turn liveness check over the few frames the phone sends while the person turns their head as told.

The measure is the nose's sideways offset from the midpoint of the eyes, as a fraction of the distance between the
eyes (dlib's 5-point landmarks, `yaw`). A printed photo held up and rotated about a vertical axis is a flat picture:
the rotation squeezes it sideways evenly (an affine map, near enough), and a ratio of lengths along one line stays the
same under it, so the measure does not move. A real head turning brings the nose round in front of the eyes, so it
does. The limit: perspective is not affine. A print turned 30 degrees close to the lens (1.5 print widths) with the
face well off its turning axis (a portrait, face near the top) shears the eye line and moves the measure by about
0.12, enough to pass; with the face near the axis it moves about 0.05 (the tests).

The person's identity is checked on the most frontal frame (the one kept as the check-in photo) and on the most
turned one, so a face swapped in during the turn is caught. Only those two frames are encoded; the rest are only
detected and landmarked, so four frames cost about what two check-in photos do."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import engine

DIRECTIONS = {"left": 1, "right": -1}  # the person's own left/right, as the sign of the yaw change it produces
SIDE = {"left": "左", "right": "右"}


@dataclass(frozen=True)
class Result:
    passed: bool
    code: str  # ok, no_face, many_faces, not_an_image, too_few_frames, no_turn, wrong_way, mismatch
    message: str  # for the supervisee and the officer
    shift: float = 0.0  # the largest yaw change achieved in the asked direction (later frame minus earlier)
    yaws: list[float] = field(default_factory=list)
    distance: float | None = None  # the larger of the identity checks' distances to the enrolled face
    photo_index: int = 0  # the most frontal frame: the one to keep as the check-in photo
    frame: int | None = None  # the frame (from 0) a no_face / many_faces / not_an_image failure is about


def _points(shape) -> np.ndarray:
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], dtype=np.float64)


def _yaw(shape) -> float:
    p = _points(shape)
    a, b = p[0:2].mean(axis=0), p[2:4].mean(axis=0)  # eye (0,1) is on the image's right in an upright face
    line = a - b  # from the image's left eye to its right eye: +x when upright
    span = float(np.linalg.norm(line))
    if span == 0:
        return 0.0
    return float(np.dot(p[4] - (a + b) / 2, line) / span ** 2)


def _shape(img: np.ndarray, box):
    import dlib

    return engine._models()[1](img, dlib.rectangle(*box))  # on the full image: the boxes are full-size


def yaw(img: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """The nose's offset from the eyes' midpoint along the eye line, over the eyes' distance: positive when the nose
    is towards the image's right (x increasing), which in a camera frame that is not mirrored is the person turned to
    their own left; about 0 for a frontal face, roughly ±0.1 to ±0.3 for a clear turn."""
    return _yaw(_shape(img, box))


def _encode(img: np.ndarray, shape) -> np.ndarray:
    import dlib

    from . import resnet

    chip = dlib.get_face_chip(img, shape, size=150, padding=0.25)  # as engine.faces does
    return resnet.descriptor(chip, resnet.load()).astype(np.float64)


def _best_shift(yaws: list[float], sign: int) -> tuple[float, int, int]:
    """The largest sign * (yaws[j] - yaws[i]) over i < j, with its i and j (one pass, keeping the running best i)."""
    best, bi, bj = -np.inf, 0, 1
    lo = 0  # the index of the smallest sign * yaw so far
    for j in range(1, len(yaws)):
        if sign * yaws[j - 1] < sign * yaws[lo]:
            lo = j - 1
        s = sign * (yaws[j] - yaws[lo])
        if s > best:
            best, bi, bj = s, lo, j
    return float(best), bi, bj


def check(frames: list, direction: str, enrolled: np.ndarray | None, *, min_shift: float = 0.1,
          threshold: float = engine.THRESHOLD, min_frames: int = 2) -> Result:
    """Whether the frames (JPEG/PNG bytes, paths or RGB arrays, in the order taken) show one live person turning
    their head to their own `direction` ("left" or "right") by at least `min_shift`, and, when `enrolled` is given,
    that the person is the enrolled one."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'left' or 'right', not {direction!r}")
    side = SIDE[direction]
    if len(frames) < min_frames:
        return Result(False, "too_few_frames", f"画面不足（至少{min_frames}帧），请按提示向{side}转头后重试")
    imgs, shapes, yaws = [], [], []
    for n, data in enumerate(frames):
        try:
            img = data if isinstance(data, np.ndarray) else engine.load(data)
        except engine.FaceError as e:
            return Result(False, e.code, f"第{n + 1}帧：{e}", yaws=yaws, frame=n)
        boxes = engine.detect(img)
        if len(boxes) != 1:
            code, why = (("no_face", "未检测到人脸，请保持面部在画面内、光线充足后重试") if not boxes else
                         ("many_faces", f"中有{len(boxes)}张人脸，请本人单独完成"))
            return Result(False, code, f"第{n + 1}帧{why}", yaws=yaws, frame=n)
        shape = _shape(img, boxes[0])
        imgs.append(img)
        shapes.append(shape)
        yaws.append(round(_yaw(shape), 4))
    photo = int(np.argmin(np.abs(yaws)))
    shift, _, j = _best_shift(yaws, DIRECTIONS[direction])
    shift = round(shift, 4)
    # who it is first: another face is the officer's first concern, whether or not it turned
    dist = None
    if enrolled is not None:
        dist = round(max(engine.distance(_encode(imgs[k], shapes[k]), enrolled) for k in {photo, j}), 4)
        if dist > threshold:
            return Result(False, "mismatch", "人脸与登记照片不符，须由本人核验", shift, yaws, dist, photo)
    if shift < min_shift:
        other = SIDE["right" if direction == "left" else "left"]
        code, message = "no_turn", f"未检测到转头动作，请按提示向{side}转头"
        if _best_shift(yaws, -DIRECTIONS[direction])[0] >= min_shift:
            code, message = "wrong_way", f"转头方向不对：请向{side}转头，而不是向{other}"
        return Result(False, code, message, shift, yaws, dist, photo)
    return Result(True, "ok", "活体检测通过", shift, yaws, dist, photo)
