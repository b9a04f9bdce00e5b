"""Face verification on the CPU, offline: dlib's HOG face detector, its 5-point landmarks and its ResNet encoder
(128 numbers per face; run through NumPy, resnet.py), the models shipped inside the `face-recognition-models` PyPI package (nothing is
downloaded at run time). ADR 0009 has the measurements behind the choices.

Speed: detection grows with the pixels searched, so a face is looked for on small copies first (`PASSES`: 320 px on
the long side, then 480, without upsampling: a check-in photo's face is large), and only when those find nothing at
640 px with one upsampling (a small or distant face). The face is then aligned and encoded from the decoded photo
(a big JPEG decoded at a reduced scale of at least `DECODE_PX`), so the small copies cost nothing in accuracy."""
from __future__ import annotations

import importlib.util
import io
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# the detection passes, cheapest first: (long side at most, upsampling); the first that finds a face decides
PASSES = ((320, 0), (480, 0), (640, 1))
DECODE_PX = 1280  # a JPEG larger than this is decoded at a reduced scale (its DCT does it at no cost)
THRESHOLD = 0.6  # Euclidean distance between encodings: at most this is the same person (dlib's published value)
MAX_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


class FaceError(ValueError):
    """A photo that cannot be used: not an image, no face, or more than one (the message is the officer's)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom in the full photo's pixels
    encoding: np.ndarray


@dataclass(frozen=True)
class Comparison:
    match: bool
    distance: float
    threshold: float


@lru_cache(maxsize=1)
def _models():
    import dlib

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed (requirements.txt)")
    folder = os.path.join(list(spec.submodule_search_locations)[0], "models")
    return (dlib.get_frontal_face_detector(),
            dlib.shape_predictor(os.path.join(folder, "shape_predictor_5_face_landmarks.dat")),
            lambda: dlib.face_recognition_model_v1(os.path.join(folder, "dlib_face_recognition_resnet_model_v1.dat")))


def load(data: bytes | str | os.PathLike) -> np.ndarray:
    """An RGB array from JPEG/PNG bytes or a path, turned upright by its EXIF orientation (phones store sideways)."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data) as im:
            if im.format == "JPEG" and max(im.size) > DECODE_PX:
                im.draft("RGB", (DECODE_PX, DECODE_PX))  # a half, quarter... scale still at least DECODE_PX
            im = ImageOps.exif_transpose(im).convert("RGB")
            return np.asarray(im)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as e:
        raise FaceError("not_an_image", "无法识别的图片，请上传 JPG 或 PNG 照片") from e


def _small(img: np.ndarray, px: int) -> tuple[np.ndarray, float]:
    h, w = img.shape[:2]
    scale = min(1.0, px / max(h, w))
    if scale == 1.0:
        return img, 1.0
    small = Image.fromarray(img).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    return np.asarray(small), scale


def detect(img: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes in the full photo's pixels: the quick pass, then the careful one if it found nothing."""
    detector = _models()[0]
    h, w = img.shape[:2]
    for px, upsample in PASSES:
        small, scale = _small(img, px)
        rects = detector(small, upsample)
        if len(rects):
            return [(max(0, int(r.left() / scale)), max(0, int(r.top() / scale)),
                     min(w, int(r.right() / scale)), min(h, int(r.bottom() / scale))) for r in rects]
    return []


def faces(img: np.ndarray) -> list[Face]:
    """Each face found, aligned to dlib's 150x150 chip and encoded by the ResNet run through NumPy (resnet.py; the
    same numbers as dlib's own encoder, about six times faster here)."""
    import dlib

    from . import resnet

    _, shape, _ = _models()
    net = resnet.load()
    out = []
    for box in detect(img):
        chip = dlib.get_face_chip(img, shape(img, dlib.rectangle(*box)), size=150, padding=0.25)
        out.append(Face(box, resnet.descriptor(chip, net).astype(np.float64)))
    return out


def one_face(data) -> Face:
    """The single face of a check-in or enrolment photo; none or several is refused with the reason."""
    found = faces(data if isinstance(data, np.ndarray) else load(data))
    if not found:
        raise FaceError("no_face", "照片中未检测到人脸，请正对镜头、光线充足后重拍")
    if len(found) > 1:
        raise FaceError("many_faces", f"照片中有{len(found)}张人脸，请本人单独拍摄")
    return found[0]


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def distances(known: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Distances of one probe to many stored encodings (n x 128), vectorised."""
    return np.linalg.norm(np.asarray(known, dtype=np.float64) - np.asarray(probe, dtype=np.float64), axis=1)


def compare(a: np.ndarray, b: np.ndarray, threshold: float = THRESHOLD) -> Comparison:
    d = distance(a, b)
    return Comparison(d <= threshold, round(d, 4), threshold)
