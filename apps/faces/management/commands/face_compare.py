"""`manage.py face_compare IMG_A IMG_B` or `--pairs PAIRS.csv` (columns image_a,image_b; paths relative to the
CSV's folder; a same_person column, when present, is checked): one JSON object per pair and line, with match,
distance and threshold, so anyone can check the matcher on their own photos."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.faces import engine


class Command(BaseCommand):
    help = "比对两张照片是否为同一人（离线人脸核验），每对输出一行 JSON"

    def add_arguments(self, parser):
        parser.add_argument("images", nargs="*", help="两张照片的路径")
        parser.add_argument("--pairs", help="CSV：image_a,image_b[,same_person]，路径相对于 CSV 所在目录")
        parser.add_argument("--threshold", type=float, default=engine.THRESHOLD, help="距离不大于此值视为同一人")

    def handle(self, *args, images, pairs, threshold, **opts):
        if pairs:
            folder = Path(pairs).resolve().parent
            try:
                with open(pairs, newline="", encoding="utf-8-sig") as f:
                    rows = list(csv.DictReader(f))
            except OSError as e:
                raise CommandError(f"无法读取 {pairs}：{e}") from e
            if rows and not {"image_a", "image_b"} <= set(rows[0]):
                raise CommandError("CSV 须有 image_a、image_b 两列")
            todo = [(folder / r["image_a"], folder / r["image_b"], r.get("same_person")) for r in rows]
        elif len(images) == 2:
            todo = [(Path(images[0]), Path(images[1]), None)]
        else:
            raise CommandError("请给出两张照片，或 --pairs PAIRS.csv")
        cache: dict[Path, engine.Face | engine.FaceError] = {}

        def face(path: Path):
            if path not in cache:
                try:
                    if not path.is_file():
                        raise engine.FaceError("missing", f"文件不存在：{path}")
                    cache[path] = engine.one_face(engine.load(path))
                except engine.FaceError as e:
                    cache[path] = e
            return cache[path]

        wrong = 0
        for a, b, same in todo:
            out = {"image_a": str(a), "image_b": str(b)}
            fa, fb = face(a), face(b)
            bad = next((x for x in (fa, fb) if isinstance(x, engine.FaceError)), None)
            if bad is not None:
                out |= {"match": False, "distance": None, "threshold": threshold, "error": bad.code,
                        "message": str(bad)}
            else:
                c = engine.compare(fa.encoding, fb.encoding, threshold)
                out |= {"match": c.match, "distance": c.distance, "threshold": c.threshold}
            if same not in (None, ""):
                out["expected"] = same.strip() in ("1", "true", "yes", "是")
                out["right"] = out["expected"] == out["match"]
                wrong += not out["right"]
            self.stdout.write(json.dumps(out, ensure_ascii=False))
        if wrong:
            self.stderr.write(f"{wrong} 对与预期不符")
