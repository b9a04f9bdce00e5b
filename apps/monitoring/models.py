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


# --- location monitoring (issue 8, ADR 0013) -----------------------------------------------------------------------

class MonitoringOrder(models.Model):
    """电子定位装置使用审批 (社区矫正法第29条): its ground, the county bureau head who approved it, and its term of at
    most three months; a renewal is a new order that `renews` the last. A wristband is bound only under an order in
    force; the order's end unbinds it."""

    class State(models.TextChoices):
        PROPOSED = "proposed", "待审批"
        REFUSED = "refused", "不予批准"
        ACTIVE = "active", "使用中"
        ENDED = "ended", "已解除"
        EXPIRED = "expired", "期满解除"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    ground = models.CharField("适用情形", max_length=2)
    ground_detail = models.CharField("具体事实", max_length=300)
    proposed_by_name = models.CharField("提请人", max_length=60)
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    approver_name = models.CharField("批准人", max_length=60, blank=True)
    approved_on = models.DateField("批准日期", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=300, blank=True)
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")
    renews = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewals")
    review_note = models.CharField("评估意见", max_length=300, blank=True)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PROPOSED)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by_name = models.CharField(max_length=60, blank=True)
    end_reason = models.CharField("解除原因", max_length=200, blank=True)
    reminded_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-start", "-id"]
        constraints = [models.UniqueConstraint(fields=["case"], condition=Q(state="active"),
                                               name="monitoring_order_active_once"),
                       models.UniqueConstraint(fields=["case"], condition=Q(state="proposed"),
                                               name="monitoring_order_proposed_once")]
        indexes = [models.Index(fields=["state", "end"], name="morder_state_end_idx")]


class Tracker(models.Model):
    """A device that sends fixes: a wristband (电子定位装置, by IMEI) or a supervisee's phone (信息化核查, the phone the
    portal approved). `person`/`case` are its current binding (history in TrackerBinding); battery and last fix as
    last reported."""

    class Kind(models.TextChoices):
        PHONE = "phone", "手机"
        WRISTBAND = "wristband", "电子定位腕带"

    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    identifier = models.CharField("设备号（IMEI）", max_length=40, unique=True)
    label = models.CharField("型号或说明", max_length=100, blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Supervisee, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, blank=True, editable=False)  # the bound case's; "" when unbound
    is_minor = models.BooleanField(default=False, editable=False)
    bound_at = models.DateTimeField(null=True, blank=True)
    battery = models.FloatField("电量（%）", null=True, blank=True)
    last_seen_at = models.DateTimeField("最近定位时间", null=True, blank=True)
    last_lat = models.FloatField(null=True, blank=True)
    last_lon = models.FloatField(null=True, blank=True)
    last_accuracy = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["kind", "identifier"]
        indexes = [models.Index(fields=["case"], name="tracker_case_idx")]


class TrackerBinding(models.Model):
    tracker = models.ForeignKey(Tracker, on_delete=models.PROTECT, related_name="bindings")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    order = models.ForeignKey(MonitoringOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="bindings")
    bound_at = models.DateTimeField("绑定时间")
    bound_by_name = models.CharField(max_length=60)
    unbound_at = models.DateTimeField("解绑时间", null=True, blank=True)
    unbound_by_name = models.CharField(max_length=60, blank=True)
    unbind_reason = models.CharField("解绑原因", max_length=200, blank=True)

    class Meta:
        ordering = ["-bound_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tracker"], condition=Q(unbound_at__isnull=True),
                                               name="tracker_bound_once")]


class Fence(models.Model):
    """One fence of a person, as it was in force: a change retires the row and writes a new one (`replaces`), so the
    fence in force at any past time can be read back. Geometry is GeoJSON in WGS-84; a circle is a Point and a
    radius."""

    class Kind(models.TextChoices):
        ALLOWED = "allowed", "允许活动区域"
        EXCLUSION = "exclusion", "禁止进入区域"
        LEAVE = "leave", "请假临时区域"
        CURFEW = "curfew", "宵禁区域"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    label = models.CharField("名称", max_length=100)
    source = models.CharField(max_length=40, blank=True)  # "county:<org>", "request:<id>", "manual"
    geometry = models.JSONField()
    radius_m = models.FloatField("半径（米）", null=True, blank=True)
    windows = models.JSONField(default=list, blank=True)  # curfew: [["22:00", "06:00"], ...]
    valid_from = models.DateTimeField("生效时间", null=True, blank=True)
    valid_to = models.DateTimeField("失效时间", null=True, blank=True)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_name = models.CharField(max_length=60, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by_name = models.CharField(max_length=60, blank=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["case_id", "kind", "id"]
        indexes = [models.Index(fields=["case", "retired_at"], name="fence_case_current_idx")]


class PingBatch(models.Model):
    """One accepted upload of fixes: stored first, then evaluated; `evaluated_at` null means the engine has yet to
    see it (a crash between the two leaves it so, and the sweep evaluates it)."""

    received_at = models.DateTimeField()
    actor_name = models.CharField(max_length=60, blank=True)
    stored = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    first_t = models.DateTimeField(null=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["evaluated_at", "id"], name="pingbatch_pending_idx")]


class Fix(models.Model):
    """A stored location fix, WGS-84. On PostgreSQL the table is partitioned by month of `t` (migration 0003), so
    retention drops a month at a time; the primary key there is (id, t)."""

    batch_id = models.BigIntegerField()
    tracker_id = models.BigIntegerField()
    case_id = models.BigIntegerField()
    person_id = models.BigIntegerField()
    t = models.DateTimeField()
    lat = models.FloatField()
    lon = models.FloatField()
    accuracy = models.FloatField()
    source = models.SmallIntegerField(default=0)  # 0 GNSS, 1 cell, 2 WiFi
    battery = models.FloatField(null=True)
    crs = models.CharField(max_length=5, default="wgs84")  # the system it arrived in
    client_id = models.CharField(max_length=64)

    class Meta:
        managed = True
        ordering = ["t", "id"]
        constraints = [models.UniqueConstraint(fields=["tracker_id", "client_id", "t"], name="fix_client_once")]
        indexes = [models.Index(fields=["person_id", "t"], name="fix_person_t_idx"),
                   models.Index(fields=["batch_id"], name="fix_batch_idx")]


class TrackState(models.Model):
    """The engine's state of one person after the last evaluated batch: `packed` (engine.EngineState.pack, what
    is written now) or, for rows written before it, `state` (engine.EngineState.export)."""

    person_id = models.BigIntegerField(primary_key=True)
    state = models.JSONField(default=dict)
    packed = models.BinaryField(null=True)
    last_fix_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField()


class Alert(models.Model):
    """A monitoring alert (预警) in the office's queue: raised from an engine event, a failed or unanswered spot
    check, or the sweep (signal lost); one open alert per person, type and fence (a repetition counts on it)."""

    class State(models.TextChoices):
        OPEN = "open", "待签收"
        ACKNOWLEDGED = "acknowledged", "处置中"
        CLOSED = "closed", "已处置"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    county = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    type = models.CharField("预警类型", max_length=20)
    level = models.CharField("预警等级", max_length=6)
    key = models.CharField(max_length=60)  # what de-duplicates an open alert: type and fence
    state = models.CharField("状态", max_length=14, choices=State.choices, default=State.OPEN)
    first_at = models.DateTimeField("发生时间")
    last_at = models.DateTimeField("最近发生")
    repeats = models.PositiveIntegerField("重复次数", default=1)
    raised_at = models.DateTimeField("预警时间")
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    accuracy = models.FloatField(null=True, blank=True)
    distance_m = models.FloatField("越界距离（米）", null=True, blank=True)
    fence = models.ForeignKey(Fence, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    spot_check = models.ForeignKey(SpotCheck, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    detail = models.JSONField(default=dict, blank=True)
    cleared_at = models.DateTimeField("情形消除时间", null=True, blank=True)
    escalated_at = models.DateTimeField("上报县级时间", null=True, blank=True)
    acknowledged_at = models.DateTimeField("签收时间", null=True, blank=True)
    acknowledged_by_name = models.CharField(max_length=60, blank=True)
    disposal = models.CharField("处置方式", max_length=14, blank=True)
    false_cause = models.CharField("误报原因", max_length=10, blank=True)
    disposal_note = models.CharField("处置情况", max_length=500, blank=True)
    disposed_at = models.DateTimeField("处置时间", null=True, blank=True)
    disposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    disposed_by_name = models.CharField(max_length=60, blank=True)
    task_id = models.BigIntegerField(null=True, blank=True)  # the case task a confirmed violation opened

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "key"], condition=~Q(state="closed"),
                                               name="alert_open_once")]
        indexes = [models.Index(fields=["org_path", "state", "raised_at"], name="alert_queue_idx"),
                   models.Index(fields=["state", "raised_at"], name="alert_state_idx"),
                   models.Index(fields=["person", "type", "raised_at"], name="alert_person_type_idx")]
