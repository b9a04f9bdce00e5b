"""Information-based verification: the face enrolled from the officer's photo, a report-in from the phone judged by
face and head turn (the capture time kept beside the upload time, a retry stored once), the officer's review of a
failure, spot checks answered in time, late or not at all, the random draw and the daily report."""
import base64
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.cases.models import Case
from apps.monitoring import services
from apps.monitoring.models import DailyReport, FaceEnrolment, SpotCheck, Verification
from apps.people.actors import SelfActor
from apps.people.services import InputErrors
from apps.people.testing import given_supervisee
from apps.supervision import rules
from apps.supervision.models import Record

FACES = Path(__file__).resolve().parents[3] / "data" / "faces"


def _b64(name):
    return base64.b64encode((FACES / name).read_bytes()).decode()


@pytest.fixture
def case(tree, officer):
    p = given_supervisee(officer, office=tree.donghu_office, status="active")
    return Case.objects.get(person=p, is_open=True)


@pytest.fixture
def me(case):
    return SelfActor(person_id=case.person_id, case_id=case.pk, org_path=case.org_path, device="手机 测试")


def _enrol(officer, case, name="obama/obama.jpg"):
    return services.face_enrol(actor=officer, person_id=case.person_id, photo=(FACES / name).read_bytes())


def _turning(direction):
    # obama -> obama3 turns the head to the person's left; obama -> obama2 to the right (test_liveness)
    return ["obama/obama.jpg", "obama/obama3.jpg" if direction == "left" else "obama/obama2.jpg"]


def _answer(me, *, cid, name_pair=None, **extra):
    ch = services.challenge_new(me.case_id)
    frames = name_pair or _turning(ch["direction"])
    data = {"client_id": cid, "challenge": ch["token"], "frames": [_b64(f) for f in frames], **extra}
    return services.verify_upload(actor=me, data=data)


def test_enrolment_takes_one_face_and_replaces_the_old(officer, case):
    with pytest.raises(InputErrors) as e:
        _enrol(officer, case, "multi/two_people.jpg")
    assert "2张人脸" in e.value.errors["photo"] and not FaceEnrolment.objects.exists()
    first = _enrol(officer, case)
    second = _enrol(officer, case, "obama/obama2.jpg")
    assert services.current_enrolment(case.person_id).pk == second.pk
    first.refresh_from_db()
    assert first.retired_at is not None and len(second.encoding) == 128
    assert AuditRecord.objects.filter(action="face.enrol").count() == 2


def test_a_report_in_from_the_phone_passes_for_the_person_and_counts_once(officer, case, me):
    _enrol(officer, case)
    captured = timezone.now() - timedelta(seconds=90)  # the upload waited for a signal; the phone counts the wait
    s = _answer(me, cid="r1", age_s=90, captured_at="2020-01-01T00:00:00+08:00", lat=28.68, lon=115.89, accuracy=15)
    v = s.verification
    assert s.created and v.passed and v.code == "ok" and v.distance < 0.6 and v.review == ""
    assert abs((v.captured_at - captured).total_seconds()) < 2 and v.received_at > v.captured_at
    rec = Record.objects.get(pk=v.record_id)
    assert (rec.kind, rec.channel, rec.verified) == ("report_in", "portal", "pass") and rec.recorded_by is None
    assert "28.680000,115.890000" in rec.place_note and rec.photo
    again = _answer(me, cid="r1")  # the phone retries the same capture
    assert not again.created and again.verification.pk == v.pk
    assert Record.objects.filter(case=case).count() == 1 and Verification.objects.count() == 1
    a = AuditRecord.objects.get(action="verification.upload")
    assert a.actor_id is None and "本人" in a.actor_name


def test_another_face_fails_and_waits_for_review_which_can_confirm(officer, case, me):
    _enrol(officer, case, "biden/biden.jpg")  # the phone's frames turn well, but they are another man's
    v = _answer(me, cid="b1").verification
    assert not v.passed and v.code == "mismatch" and v.review == Verification.Review.PENDING
    rec = Record.objects.get(pk=v.record_id)
    assert rec.verified == "fail"
    with pytest.raises(InputErrors):
        services.verification_review(actor=officer, verification_id=v.pk, outcome="confirmed", note="")
    services.verification_review(actor=officer, verification_id=v.pk, outcome="confirmed", note="视频通话核实本人")
    rec.refresh_from_db()
    new = Record.objects.get(pk=rec.superseded_by_id)
    assert new.verified == "pass" and "视频通话核实本人" in new.verify_note and new.happened_at == rec.happened_at


def test_a_forged_or_reused_challenge_is_not_trusted(officer, case, me):
    _enrol(officer, case)
    ch = services.challenge_new(me.case_id)
    frames = [_b64(f) for f in _turning(ch["direction"])]
    v = services.verify_upload(actor=me, data={"client_id": "x1", "challenge": "forged", "direction": ch["direction"],
                                               "frames": frames}).verification
    assert not v.passed and v.review == "pending" and "离线采集" in v.reason
    services.verify_upload(actor=me, data={"client_id": "x2", "challenge": ch["token"], "frames": frames})
    with pytest.raises(InputErrors):
        services.verify_upload(actor=me, data={"client_id": "x3", "challenge": ch["token"], "frames": frames})
    assert Verification.objects.count() == 2


@pytest.mark.parametrize("data, field", [
    ({"frames": []}, "frames"),
    ({"frames": ["@@@"]}, "frames"),
    ({"lat": 91}, "lat"),
    ({"captured_at": "2099-01-01T00:00:00+08:00"}, "captured_at"),
    ({"client_id": ""}, "client_id"),
])
def test_bad_uploads_change_nothing(officer, case, me, data, field):
    _enrol(officer, case)
    base = {"client_id": "bad", "frames": [_b64("obama/obama.jpg")] * 2}
    with pytest.raises(InputErrors) as e:
        services.verify_upload(actor=me, data={**base, **data})
    assert field in e.value.errors
    assert not Verification.objects.exists() and not Record.objects.exists()


def test_a_spot_check_answered_in_time_passes_and_one_missed_is_swept(officer, case, me):
    _enrol(officer, case)
    s = services.spot_check_issue(actor=officer, case_id=case.pk, note="夜间核查")
    assert (s.due_at - s.issued_at) == timedelta(minutes=rules.CHECK_TABLES[0].answer_minutes)
    with pytest.raises(InputErrors):  # one open at a time
        services.spot_check_issue(actor=officer, case_id=case.pk)
    v = _answer(me, cid="s1", purpose="spot_check", spot_check=s.pk).verification
    s.refresh_from_db()
    assert v.passed and s.state == SpotCheck.State.PASSED and not Record.objects.exists()  # not a report-in
    late = services.spot_check_issue(actor=officer, case_id=case.pk, now=timezone.now() - timedelta(minutes=30))
    assert services.sweep() == 1
    late.refresh_from_db()
    assert late.state == SpotCheck.State.MISSED
    assert AuditRecord.objects.filter(action="spot_check.missed").count() == 1
    _answer(me, cid="s2", purpose="spot_check", spot_check=late.pk)  # answered after the window
    late.refresh_from_db()
    assert late.state == SpotCheck.State.LATE
    with pytest.raises(InputErrors):
        services.spot_check_dispose(actor=officer, spot_check_id=late.pk, note="")
    services.spot_check_dispose(actor=officer, spot_check_id=late.pk, note="电话联系，手机没电")
    counts, anomalies = {}, []
    for day in sorted({s.day, late.day}):  # the late one was issued 30 minutes ago: just before midnight, maybe
        services.daily_report_make(day)
        r = DailyReport.objects.get(office=case.judicial_office, day=day)
        for k, n in r.counts.items():
            counts[k] = counts.get(k, 0) + n
        anomalies += r.anomalies
    assert counts["spot_total"] == 2 and counts["spot_passed"] == 1 and counts["spot_late"] == 1
    assert [a["type"] for a in anomalies] == ["late"]


@pytest.mark.parametrize("level, days, odds", [("strict", 30, 8 / 30), ("normal", 31, 4 / 31), ("lenient", 28, 2 / 28)])
def test_spot_check_odds_by_level(level, days, odds):
    assert rules.spot_check_odds(level=level, days_in_month=days, table=rules.CHECK_TABLES[0]) == pytest.approx(odds)


@pytest.mark.parametrize("answered, due_passed, passed, outcome", [
    (False, False, None, "missed"), (True, False, True, "passed"), (True, False, False, "failed"),
    (True, True, True, "late")])
def test_spot_check_outcome_table(answered, due_passed, passed, outcome):
    due = timezone.now()
    at = (due + timedelta(minutes=1) if due_passed else due - timedelta(minutes=1)) if answered else None
    assert rules.spot_check_outcome(passed=passed, answered_at=at, due_at=due) == outcome


def test_the_random_draw_is_repeatable_and_only_for_people_with_a_phone_and_a_face(officer, case, me, tree):
    from apps.portal import services as portal

    _enrol(officer, case)
    day = date(2026, 12, 7)
    assert services.random_checks_for(day) == 0  # no bound phone yet
    code = portal.code_issue(actor=officer, person_id=case.person_id).code
    p = case.person
    portal.sign_in(id_number=p.id_number, code=code, new_password="Qing2026abc")
    hits = [d for d in (day + timedelta(n) for n in range(60)) if services.random_checks_for(d)]
    assert 6 <= len(hits) <= 30  # 严管: 8 a month, so about 16 in 60 days
    assert all(services.random_checks_for(d) == 0 for d in hits[:3])  # drawn again: nothing twice
    t = rules.CHECK_TABLES[0]
    for s in SpotCheck.objects.all():
        local = timezone.localtime(s.issued_at)
        assert t.day_start_hour <= local.hour < t.day_end_hour and s.kind == "random"


def test_without_beat_the_pages_sweep_first_and_under_beat_they_leave_it(officer, case, settings):
    from apps.monitoring.tasks import sweep as sweep_task

    late = services.spot_check_issue(actor=officer, case_id=case.pk, now=timezone.now() - timedelta(minutes=30))
    settings.ZHIJIAO_DAILY_JOBS = "celery"
    assert services.sweep_if_embedded() == 0
    late.refresh_from_db()
    assert late.state == SpotCheck.State.OPEN
    settings.ZHIJIAO_DAILY_JOBS = "thread"
    assert services.sweep_if_embedded() == 1 and services.sweep_if_embedded() == 0
    late.refresh_from_db()
    assert late.state == SpotCheck.State.MISSED
    assert sweep_task.apply().get() == 0  # the beat task: nothing left to sweep


def test_a_challenge_is_the_cases_latest_and_cannot_backdate_a_capture(officer, case, me, tree):
    _enrol(officer, case)
    other = Case.objects.get(person=given_supervisee(officer, office=tree.donghu_office, status="active"))
    theirs = services.challenge_new(other.pk)
    frames = [_b64(f) for f in _turning(theirs["direction"])]
    v = services.verify_upload(actor=me, data={"client_id": "f1", "challenge": theirs["token"], "frames": frames,
                                               "direction": theirs["direction"]}).verification
    assert not v.passed and "离线采集" in v.reason  # another case's challenge is not this one's
    first = services.challenge_new(me.case_id)
    services.challenge_new(me.case_id)  # fetching again retires the first
    v = services.verify_upload(actor=me, data={"client_id": "f2", "challenge": first["token"],
                                               "frames": [_b64(f) for f in _turning(first["direction"])]}).verification
    assert not v.passed and v.review == "pending"
    # a capture claimed weeks old on a fresh challenge is dated when the challenge was issued
    v = _answer(me, cid="f3", captured_at=(timezone.now() - timedelta(days=20)).isoformat()).verification
    assert v.passed and timezone.now() - v.captured_at < timedelta(minutes=1)
    with pytest.raises(InputErrors) as e:
        _answer(me, cid="f4", age_s=-5)
    assert "采集时间" in e.value.errors["age_s"]


def test_a_spot_check_cannot_be_answered_with_frames_older_than_the_check(officer, case, me):
    _enrol(officer, case)
    s = services.spot_check_issue(actor=officer, case_id=case.pk)
    with pytest.raises(InputErrors) as e:  # taken an hour before the check was issued, without its challenge
        services.verify_upload(actor=me, data={"client_id": "o1", "purpose": "spot_check", "spot_check": s.pk,
                                               "age_s": 3600, "frames": [_b64(f) for f in _turning("left")]})
    assert "早于这次核查" in e.value.errors["captured_at"]
    s.refresh_from_db()
    assert s.state == SpotCheck.State.OPEN and not Verification.objects.exists()
