"""Uncompressed YUV4MPEG2 clips built from still photos, for a browser's fake camera in the end-to-end tests
(Chromium: `--use-fake-device-for-media-stream --use-file-for-fake-video-capture=clip.y4m`; it loops the clip).

Chromium's reader (media/capture/video/file_video_capture_device.cc) looks for the first "FRAME" within the header's
first 200 bytes, takes W, H and F from it, accepts C420, C420jpeg, C420mpeg2 or C420paldv as I420, and then reads
frames at a fixed stride, so each frame header must be exactly "FRAME\\n". Colours are BT.601 studio range
(Y 16-235), which is what I420 means to Chromium."""
from __future__ import annotations

import os

import numpy as np
from PIL import Image

from . import engine


def _fit(img, size: tuple[int, int]) -> np.ndarray:
    """The photo scaled to fit `size`, centred on black (letterboxed), as RGB."""
    im = Image.fromarray(img) if isinstance(img, np.ndarray) else Image.fromarray(engine.load(img))
    w, h = size
    scale = min(w / im.width, h / im.height)
    im = im.convert("RGB").resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
    canvas = Image.new("RGB", size)
    canvas.paste(im, ((w - im.width) // 2, (h - im.height) // 2))
    return np.asarray(canvas)


def _yuv420(rgb: np.ndarray) -> bytes:
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16 + 0.256788 * r + 0.504129 * g + 0.097906 * b
    u = 128 - 0.148223 * r - 0.290993 * g + 0.439216 * b
    v = 128 + 0.439216 * r - 0.367788 * g - 0.071427 * b
    h, w = y.shape
    sub = [c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)) for c in (u, v)]  # 2x2 average: centred (jpeg) siting
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in (y, *sub))


def write_y4m(path: str | os.PathLike, images: list, *, seconds_each: float, fps: int = 10,
              size: tuple[int, int] = (640, 480)) -> int:
    """Each image (an RGB array or a photo's path/bytes) shown for `seconds_each`, in order; the frame count."""
    w, h = size
    if w % 2 or h % 2:
        raise ValueError("4:2:0 needs an even width and height")
    repeat = max(1, round(seconds_each * fps))
    n = 0
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for img in images:
            frame = _yuv420(_fit(img, size))
            for _ in range(repeat):
                f.write(b"FRAME\n")
                f.write(frame)
                n += 1
    return n


def read_y4m_frames(path: str | os.PathLike) -> list[np.ndarray]:
    """The frames of a 4:2:0 Y4M clip as RGB arrays (the chroma repeated 2x2); frame parameters are not supported."""
    with open(path, "rb") as f:
        data = f.read()
    end = data.index(b"\n")
    tags = {t[:1]: t[1:] for t in data[:end].decode("ascii").split()[1:]}
    w, h = int(tags["W"]), int(tags["H"])
    if not tags.get("C", "420").startswith("420"):
        raise ValueError(f"only 4:2:0 is supported, not C{tags['C']}")
    ysize, csize = w * h, (w // 2) * (h // 2)
    frames, pos = [], end + 1
    while pos < len(data):
        if data[pos:pos + 6] != b"FRAME\n":
            raise ValueError(f"no FRAME header at byte {pos}")
        pos += 6
        plane = np.frombuffer(data, np.uint8, ysize + 2 * csize, pos).astype(np.float32)
        pos += ysize + 2 * csize
        y = plane[:ysize].reshape(h, w) - 16
        u, v = (plane[ysize + k * csize:ysize + (k + 1) * csize].reshape(h // 2, w // 2).repeat(2, 0).repeat(2, 1)
                - 128 for k in (0, 1))
        rgb = np.stack([1.164383 * y + 1.596027 * v,
                        1.164383 * y - 0.391762 * u - 0.812968 * v,
                        1.164383 * y + 2.017232 * u], axis=-1)
        frames.append(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))
    return frames
