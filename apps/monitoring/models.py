"""Information-based verification (信息化核查, ADR 0010): the face enrolled from the officer's photo, every face check a
phone sends (a report-in or the answer to a spot check) with its evidence, the spot checks themselves, and the daily
verification report of each office. Rows carry the case's path (scope) and its seal; writes go through services."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.cases.models import Case
from apps.orgs.models import Organisation
from apps.people.models import Supervisee


class FaceEnrolment(models.Model):
    """The face a person's checks are compared with: one current row per person; a new enrolment retires the old."""

    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    encoding = models.JSONField()  # 128 floats (dlib ResNet)
    photo = models.ImageField(upload_to="faces/%Y/%m/")
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    enrolled_by_name = models.CharField(max_length=60, blank=True)
    enrolled_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["person"], condition=Q(retired_at__isnull=True),
                                               name="face_enrolment_current_once")]


class SpotCheck(models.Model):
    class Kind(models.TextChoices):
        RANDOM = "random", "随机核查"
        TARGETED = "targeted", "点对点核查"

    class State(models.TextChoices):
        OPEN = "open", "待答复"
        PASSED = "passed", "核查通过"
        FAILED = "failed", "核查未通过"
        LATE = "late", "逾期答复"
        MISSED = "missed", "未答复"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    kind = models.CharField("方式", max_length=10, choices=Kind.choices)
    day = models.DateField("日期")  # Beijing date of issue, for the daily report
    issued_at = models.DateTimeField("发起时间")  # a random check is created in the morning for a time of the day
    due_at = models.DateTimeField("答复截止")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    issued_by_name = models.CharField(max_length=60, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    state = models.CharField("结果", max_length=10, choices=State.choices, default=State.OPEN)
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)  # captured on the phone
    disposed_at = models.DateTimeField("处置时间", null=True, blank=True)
    disposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    disposed_by_name = models.CharField(max_length=60, blank=True)
    disposal = models.CharField("处置情况", max_length=300, blank=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "day"], condition=Q(kind="random"),
                                               name="spot_check_random_once_a_day")]
        indexes = [models.Index(fields=["case", "state"], name="spot_case_state_idx"),
                   models.Index(fields=["office", "day"], name="spot_office_day_idx"),
                   models.Index(fields=["state", "due_at"], name="spot_open_due_idx")]


class Verification(models.Model):
    """One face check from the phone, with what proves it: the photo, the liveness frames' result, the place, the time
    of capture beside the time of upload, and the officer's review of a failure."""

    class Purpose(models.TextChoices):
        REPORT_IN = "report_in", "手机报到"
        SPOT_CHECK = "spot_check", "信息化核查"

    class Review(models.TextChoices):
        NONE = "", "无需复核"
        PENDING = "pending", "待复核"
        CONFIRMED = "confirmed", "复核确认本人"
        REJECTED = "rejected", "复核确认异常"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    purpose = models.CharField("用途", max_length=12, choices=Purpose.choices)
    client_id = models.CharField(max_length=64)
    device = models.CharField("终端", max_length=60, blank=True)
    captured_at = models.DateTimeField("采集时间")
    received_at = models.DateTimeField("上传时间", auto_now_add=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    accuracy = models.FloatField("定位精度（米）", null=True, blank=True)
    photo = models.ImageField(upload_to="verify/%Y/%m/", blank=True)
    frames = models.PositiveSmallIntegerField(default=0)
    challenge = models.CharField("活体动作", max_length=10, blank=True)
    challenge_nonce = models.CharField(max_length=32, blank=True)  # a server's challenge is answered once
    distance = models.FloatField("人脸比对距离", null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    turn = models.FloatField("转头幅度", null=True, blank=True)
    code = models.CharField("核验结论代码", max_length=20)
    passed = models.BooleanField("核验通过", default=False)
    reason = models.CharField("核验说明", max_length=200, blank=True)
    record_id = models.BigIntegerField(null=True, blank=True)  # the supervision Record a report-in made
    spot_check = models.ForeignKey(SpotCheck, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="verifications")
    review = models.CharField("复核", max_length=10, choices=Review.choices, blank=True, default="")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reviewer_name = models.CharField(max_length=60, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField("复核意见", max_length=300, blank=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-captured_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "client_id"], name="verification_client_id_once"),
                       models.UniqueConstraint(fields=["challenge_nonce"], condition=~Q(challenge_nonce=""),
                                               name="verification_challenge_once")]
        indexes = [models.Index(fields=["office", "captured_at"], name="verify_office_day_idx"),
                   models.Index(fields=["org_path", "review"], name="verify_review_idx")]


class DailyReport(models.Model):
    """The verification report of one office for one day, written by the daily job the morning after (the seeds'
    自动生成核查报告): counts, and each anomaly with a link for its disposal."""

    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    day = models.DateField()
    counts = models.JSONField(default=dict)
    anomalies = models.JSONField(default=list)  # [{"type": ..., "spot_check"|"verification": id, "case": id}]
    made_at = models.DateTimeField(auto_now_add=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-day", "office_id"]
        constraints = [models.UniqueConstraint(fields=["office", "day"], name="daily_report_once")]
