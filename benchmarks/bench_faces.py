"""Face verification speed on one core (no database): the public pairs in data/faces, each comparison starting from
the two photos' bytes (decode, detect, align, encode both, compare: nothing cached), against the same pipeline
searching the full-size photo with one upsampling (face_recognition's default) measured in the same run. Also the
check-in path: one new photo against a stored enrolment encoding. Prints one JSON object."""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.faces import engine  # noqa: E402

FACES = ROOT / "data" / "faces"


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
    fast, right = _pass(rows, photos, 1)
    quick, fallback = engine.DETECT_PX, engine.FALLBACK_PX
    engine.DETECT_PX = engine.FALLBACK_PX = 100_000  # the full photo, no quick pass: the baseline
    slow, right_slow = _pass(rows[:12], photos, 1)
    engine.DETECT_PX, engine.FALLBACK_PX = quick, fallback
    enrolled = engine.one_face(photos["obama/obama.jpg"]).encoding
    probes = [photos[n] for n in sorted(photos)]
    t0 = time.perf_counter()
    for p in probes:
        engine.compare(enrolled, engine.one_face(p).encoding)
    checkin = len(probes) / (time.perf_counter() - t0)
    print(json.dumps({"face_compares_per_s": round(fast, 2), "face_compares_per_s_full_size": round(slow, 2),
                      "face_compares_speedup": round(fast / slow, 2), "face_checkins_per_s": round(checkin, 2),
                      "face_pairs": len(rows), "face_pairs_right": right,
                      "face_pairs_right_full_size_of_12": right_slow}))


if __name__ == "__main__":
    main()
