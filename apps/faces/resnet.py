"""dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1, from face-recognition-models) run as NumPy
matrix products. dlib-bin is built without BLAS, and its own convolutions cost ~190 ms a face here; the same
weights through NumPy's OpenBLAS give the same 128 numbers (to float32 rounding, checked in the tests against dlib
on every test photo) in a fraction of that time. ADR 0009.

The network (dlib's examples/dnn_face_recognition_ex.cpp): a 150x150 RGB chip, minus the training mean, /256 →
conv 7x7/2 (32) → affine → relu → max-pool 3x3/2 → residual blocks of 3x3 convolutions (32 x3, 64 x4, 128 x3,
256 x3, 256 x1; the first of each level from 64 on halves the size, its shortcut an average pool 2x2/2, sums where
the two differ in size taking the missing elements as zero) → mean over the map → 256x128 matrix. A convolution of
stride 1 pads by half its size, of stride 2 not at all; a pooling likewise.

The weights are read from the model file as dlib writes it: each layer's name (con_4, affine_, fc_2), then its
parameter tensor (a version, four sizes as dlib's packed integers, then little-endian float32)."""
from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# (filters, stride) of the 28 residual convolutions, in order, two per block; levels: 32 x3, 64 x4, 128 x3, 256 x3, 256
_BLOCKS = [(32, 1)] * 3 + [(64, 2)] + [(64, 1)] * 3 + [(128, 2)] + [(128, 1)] * 2 + [(256, 2)] + [(256, 1)] * 2 \
    + [(256, 2)]


@dataclass(frozen=True)
class _Conv:
    w: np.ndarray  # (k*kh*kw, filters), rows in the order of an NHWC patch (kh, kw, k)
    b: np.ndarray
    size: int
    stride: int


@dataclass(frozen=True)
class Net:
    mean: np.ndarray  # RGB
    convs: tuple  # (conv, (gamma, beta)) pairs, in order
    fc: np.ndarray  # (256, 128)


def model_path() -> str:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed (requirements.txt)")
    return os.path.join(list(spec.submodule_search_locations)[0], "models", "dlib_face_recognition_resnet_model_v1.dat")


def _int(b: bytes, pos: int) -> tuple[int, int]:
    """dlib's packed integer: a control byte (size in the low bits, 0x80 for negative), then size bytes LE."""
    c = b[pos]
    size = c & 0x0F
    v = int.from_bytes(b[pos + 1:pos + 1 + size], "little")
    return (-v if c & 0x80 else v), pos + 1 + size


def _tensor(b: bytes, pos: int) -> np.ndarray:
    version, pos = _int(b, pos)
    if version != 2:
        raise ValueError(f"unexpected tensor version {version} at {pos}")
    dims = []
    for _ in range(4):
        d, pos = _int(b, pos)
        dims.append(d)
    n = int(np.prod(dims))
    return np.frombuffer(b, "<f4", n, pos).copy()


def _float(b: bytes, pos: int) -> tuple[float, int]:
    mantissa, pos = _int(b, pos)
    exponent, pos = _int(b, pos)
    return float(mantissa) * 2.0 ** exponent, pos


@lru_cache(maxsize=1)
def load(path: str | None = None) -> Net:
    b = open(path or model_path(), "rb").read()
    marks = [(m.start(), m.group()) for m in re.finditer(rb"input_rgb_image_sized|con_4|affine_|fc_2", b)]
    names = [n for _, n in marks]
    if names.count(b"con_4") != 29 or names.count(b"affine_") != 29 or names.count(b"fc_2") != 1:
        raise ValueError("not dlib_face_recognition_resnet_model_v1 (layer count)")
    pos = marks[0][0] + len(b"input_rgb_image_sized")
    mean = []
    for _ in range(3):
        v, pos = _float(b, pos)
        mean.append(v)
    plan = [(32, 7, 2)] + [(f, 3, s2) for f, s in _BLOCKS for s2 in (s, 1)]
    convs, k_in, i = [], 3, 0
    for start, name in marks[1:]:
        at = start + len(name)
        if name == b"fc_2":  # its number of outputs and of inputs come before its parameters
            _, at = _int(b, at)
            _, at = _int(b, at)
        t = _tensor(b, at)
        if name == b"con_4":
            f, size, stride = plan[i]
            n = f * k_in * size * size
            if t.size != n + f:
                raise ValueError(f"convolution {i}: {t.size} numbers, expected {n + f}")
            w = t[:n].reshape(f, k_in, size, size).transpose(2, 3, 1, 0).reshape(size * size * k_in, f)
            conv = _Conv(np.ascontiguousarray(w), t[n:], size, stride)
            k_in, i = f, i + 1
        elif name == b"affine_":
            convs.append((conv, (t[:k_in], t[k_in:])))
        else:
            fc = t[-256 * 128:].reshape(256, 128)
    return Net(np.array(mean, dtype=np.float32), tuple(convs), fc)


def _conv(x: np.ndarray, c: _Conv) -> np.ndarray:
    """x: (H, W, C) float32 → (H', W', filters); stride 1 pads by size // 2, stride 2 not at all."""
    if c.stride == 1 and c.size > 1:
        p = c.size // 2
        x = np.pad(x, ((p, p), (p, p), (0, 0)))
    win = sliding_window_view(x, (c.size, c.size), axis=(0, 1))[::c.stride, ::c.stride]  # (H', W', C, kh, kw)
    h, w = win.shape[:2]
    cols = win.transpose(0, 1, 3, 4, 2).reshape(h * w, -1)
    return (cols @ c.w + c.b).reshape(h, w, -1)


def _pool(x: np.ndarray, size: int, stride: int, op) -> np.ndarray:
    win = sliding_window_view(x, (size, size), axis=(0, 1))[::stride, ::stride]
    return op(win, axis=(3, 4))


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dlib's add: the larger of each size, the missing elements zero."""
    out = np.zeros(tuple(max(p, q) for p, q in zip(a.shape, b.shape)), dtype=np.float32)
    out[:a.shape[0], :a.shape[1], :a.shape[2]] += a
    out[:b.shape[0], :b.shape[1], :b.shape[2]] += b
    return out


def descriptor(chip: np.ndarray, net: Net | None = None) -> np.ndarray:
    """The 128 numbers of one aligned 150x150 RGB face chip (dlib.get_face_chip's output)."""
    net = net or load()
    if chip.shape != (150, 150, 3):
        raise ValueError("a face chip is 150x150 RGB")
    x = (chip.astype(np.float32) - net.mean) / 256.0

    def affine(x, ab):
        return x * ab[0] + ab[1]

    convs = iter(net.convs)
    c, ab = next(convs)
    x = np.maximum(affine(_conv(x, c), ab), 0)
    x = _pool(x, 3, 2, np.max)
    for _, stride in _BLOCKS:
        c1, ab1 = next(convs)
        c2, ab2 = next(convs)
        y = np.maximum(affine(_conv(x, c1), ab1), 0)
        y = affine(_conv(y, c2), ab2)
        short = _pool(x, 2, 2, np.mean) if stride == 2 else x
        x = np.maximum(_add(y, short), 0)
    return x.mean(axis=(0, 1)) @ net.fc
