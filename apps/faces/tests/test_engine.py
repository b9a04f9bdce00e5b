"""The matcher on real public photos (data/faces): every listed pair right at the threshold, a photo with
two or three people refused, a file that is not a photo refused, a photo stored sideways turned upright by its
EXIF orientation, and the command-line check anyone can run on their own photos."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from apps.faces import engine

FACES = Path(__file__).resolve().parents[3] / "data" / "faces"  # copied from ../shared/data/faces (test use only)


@pytest.fixture(scope="module")
def encodings():
    rows = list(csv.DictReader(open(FACES / "pairs.csv")))
    names = sorted({r["image_a"] for r in rows} | {r["image_b"] for r in rows})
    return rows, {n: engine.one_face(engine.load(FACES / n)).encoding for n in names}


def test_every_pair_in_the_public_set_is_right(encodings):
    rows, enc = encodings
    assert len(rows) == 36
    for r in rows:
        c = engine.compare(enc[r["image_a"]], enc[r["image_b"]])
        assert c.match == (r["same_person"] == "1"), (r, c)
    same = [engine.distance(enc[r["image_a"]], enc[r["image_b"]]) for r in rows if r["same_person"] == "1"]
    other = [engine.distance(enc[r["image_a"]], enc[r["image_b"]]) for r in rows if r["same_person"] == "0"]
    assert max(same) < engine.THRESHOLD < min(other)  # a margin both sides, not luck at the line


def test_distances_to_many_stored_faces_are_the_single_ones(encodings):
    _, enc = encodings
    names = sorted(enc)
    known = np.stack([enc[n] for n in names])
    got = engine.distances(known, enc["obama/obama.jpg"])
    assert got.shape == (len(names),)
    assert np.allclose(got, [engine.distance(enc[n], enc["obama/obama.jpg"]) for n in names])
    assert got[names.index("obama/obama.jpg")] == 0


@pytest.mark.parametrize("name, n", [("multi/two_people.jpg", 2), ("multi/obama_and_biden.jpg", 3)])
def test_a_photo_of_several_people_is_refused(name, n):
    with pytest.raises(engine.FaceError) as e:
        engine.one_face(engine.load(FACES / name))
    assert e.value.code == "many_faces" and f"{n}张人脸" in str(e.value)


def test_no_face_and_not_a_photo_are_refused_with_the_reason():
    blank = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 200, 200)).save(blank, "JPEG")
    with pytest.raises(engine.FaceError) as e:
        engine.one_face(blank.getvalue())
    assert e.value.code == "no_face" and "未检测到人脸" in str(e.value)
    with pytest.raises(engine.FaceError) as e:
        engine.load(b"%PDF-1.4 not a photo")
    assert e.value.code == "not_an_image"


def test_a_sideways_phone_photo_is_turned_upright_by_its_exif(encodings):
    _, enc = encodings
    im = Image.open(FACES / "biden/biden2.jpg").convert("RGB").rotate(90, expand=True)  # stored lying down
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90 clockwise to view (undoes the turn above)
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    face = engine.one_face(buf.getvalue())
    assert engine.compare(face.encoding, enc["biden/biden2.jpg"]).distance < 0.1


def test_the_command_prints_one_json_line_per_pair(capsys):
    call_command("face_compare", str(FACES / "obama/obama.jpg"), str(FACES / "obama/obama2.jpg"))
    one = json.loads(capsys.readouterr().out)
    assert one["match"] is True and one["distance"] < one["threshold"] == 0.6
    call_command("face_compare", "--pairs", str(FACES / "pairs.csv"))
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 36 and all(x["right"] for x in lines) and {"match", "distance", "threshold"} <= set(lines[0])
    call_command("face_compare", str(FACES / "obama/obama.jpg"), str(FACES / "multi/two_people.jpg"))
    bad = json.loads(capsys.readouterr().out)
    assert bad["match"] is False and bad["error"] == "many_faces" and bad["distance"] is None
    with pytest.raises(CommandError):
        call_command("face_compare", str(FACES / "obama/obama.jpg"))


def test_the_numpy_resnet_gives_dlibs_numbers_on_every_photo():
    import dlib

    from apps.faces import resnet

    _, shape, encoder = engine._models()
    dlib_encoder, net = encoder(), resnet.load()
    assert np.allclose(net.mean, [122.782, 117.001, 104.298], atol=1e-3)  # read from the file, dlib's training mean
    for path in sorted((FACES / "obama").glob("*.jpg")) + sorted((FACES / "biden").glob("*.jpg")):
        img = engine.load(path)
        landmarks = shape(img, dlib.rectangle(*engine.detect(img)[0]))
        ours = resnet.descriptor(dlib.get_face_chip(img, landmarks, size=150, padding=0.25), net)
        theirs = np.asarray(dlib_encoder.compute_face_descriptor(img, landmarks, 1))
        assert np.abs(ours - theirs).max() < 1e-5, path.name
    with pytest.raises(ValueError):
        resnet.descriptor(np.zeros((100, 100, 3), dtype=np.uint8), net)
