"""Face verification speed on one core (no database; OpenBLAS held to one thread): the public pairs in data/faces, each comparison starting from
the two photos' bytes (decode, detect, align, encode both, compare: nothing cached), against face_recognition's
default pipeline (the full-size photo searched with one upsampling, dlib's own encoder) measured in the same run;
and the check-in path, one new photo against a stored enrolment encoding. Prints one JSON object."""
from __future__ import annotations

import csv
import json
import sys
import time
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.faces import engine  # noqa: E402

FACES = ROOT / "data" / "faces"


@lru_cache(maxsize=1)
def _dlib_encoder():
    return engine._models()[2]()


def _dlib_faces(img):
    import dlib
    import numpy as np

    shape, enc = engine._models()[1], _dlib_encoder()
    return [engine.Face(b, np.asarray(enc.compute_face_descriptor(img, shape(img, dlib.rectangle(*b)), 1)))
            for b in engine.detect(img)]


def _pass(rows, photos, repeat: int) -> tuple[float, int]:
    right, t0 = 0, time.perf_counter()
    for _ in range(repeat):
        for r in rows:
            a = engine.one_face(photos[r["image_a"]]).encoding
            b = engine.one_face(photos[r["image_b"]]).encoding
            right += engine.compare(a, b).match == (r["same_person"] == "1")
    return len(rows) * repeat / (time.perf_counter() - t0), right // repeat


def main() -> None:
    rows = list(csv.DictReader(open(FACES / "pairs.csv")))
    photos = {n: (FACES / n).read_bytes() for n in {r["image_a"] for r in rows} | {r["image_b"] for r in rows}}
    engine._models()  # loading the models is once per process, not per comparison
    _dlib_encoder()
    fast, right = _pass(rows, photos, 1)
    # the baseline, face_recognition's default: the full photo searched with one upsampling, dlib's own encoder
    passes, decode_px, faces = engine.PASSES, engine.DECODE_PX, engine.faces
    engine.PASSES, engine.DECODE_PX, engine.faces = ((100_000, 1),), 100_000, _dlib_faces
    slow, right_slow = _pass(rows[:12], photos, 1)
    engine.PASSES, engine.DECODE_PX, engine.faces = passes, decode_px, faces
    enrolled = engine.one_face(photos["obama/obama.jpg"]).encoding
    probes = [photos[n] for n in sorted(photos)]
    t0 = time.perf_counter()
    for p in probes:
        engine.compare(enrolled, engine.one_face(p).encoding)
    checkin = len(probes) / (time.perf_counter() - t0)
    # face_compares_per_s: one new photo (from its bytes) against a stored encoding, as a check-in compares;
    # face_pair_compares_per_s: both photos from their bytes, as face_compare does
    print(json.dumps({"face_compares_per_s": round(checkin, 2), "face_pair_compares_per_s": round(fast, 2),
                      "face_pair_compares_per_s_full_size": round(slow, 2),
                      "face_pair_compares_speedup": round(fast / slow, 2),
                      "face_pairs": len(rows), "face_pairs_right": right,
                      "face_pairs_right_full_size_of_12": right_slow}))


if __name__ == "__main__":
    main()
