"""Daily supervision as facts of a case (ADR 0007): report-ins, visits, contacts, thought reports and health
reports (`Record`), the 双八 hours (`Activity`, `Hours`), approvals (`Request` and its history), and what the daily
job found missing (`Fact`). Rows hang off the case, carry its path (scope) and its seal (法54), and are never
edited in place: a correction supersedes a record with a reason. Writes go through apps.supervision.services."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.cases.models import Case
from apps.orgs.models import Organisation
from apps.people.models import Supervisee

from . import rules


class Record(models.Model):
    class Kind(models.TextChoices):
        REPORT_IN = "report_in", "报到"
        VISIT = "visit", "实地查访"
        PHONE = "phone", "通信联络"
        TALK = "talk", "个别教育"
        THOUGHT = "thought_report", "思想汇报"
        HEALTH = "health_report", "病情报告"
        CHECK = "hospital_check", "病情复查"

    class Channel(models.TextChoices):
        KIOSK = "kiosk", "自助报到终端"
        PORTAL = "portal", "手机报到"
        OFFICE = "office", "到所报到"
        FIELD = "field", "实地"
        PHONE = "phone", "电话、视频"
        PAPER = "paper", "书面"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="records")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")  # the case's, for lists
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    kind = models.CharField("类别", max_length=20, choices=Kind.choices)
    channel = models.CharField("方式", max_length=10, choices=Channel.choices)
    happened_at = models.DateTimeField("时间")  # when it happened (captured on the device, for an upload)
    recorded_at = models.DateTimeField("登记时间", auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorder_name = models.CharField(max_length=60, blank=True)
    device = models.CharField("终端", max_length=60, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    place = models.CharField("地点", max_length=20, blank=True, choices=[(k, v) for k, v in rules.PLACES.items()])
    place_note = models.CharField("地点说明", max_length=200, blank=True)
    findings = models.TextField("情况", blank=True)
    discreet = models.BooleanField("不公开身份（法26）", default=False)
    verified = models.CharField("核验结果", max_length=10, blank=True)  # pass / fail / "" (not verified)
    verify_note = models.CharField(max_length=200, blank=True)
    photo = models.ImageField("照片", upload_to="supervision/%Y/%m/", blank=True)
    text = models.TextField("内容", blank=True)
    data = models.JSONField(default=dict, blank=True)  # hospital, result, next check...
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reviewer_name = models.CharField(max_length=60, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.CharField("批阅意见", max_length=500, blank=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supersede_reason = models.CharField("更正理由", max_length=200, blank=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-happened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "client_id"], condition=~Q(client_id=""),
                                               name="record_client_id_once")]
        indexes = [models.Index(fields=["case", "kind", "happened_at"], name="record_case_kind_idx"),
                   models.Index(fields=["org_path", "happened_at"], name="record_scope_day_idx")]


class Activity(models.Model):
    """A study session or a public-welfare activity an office organises (集中教育、公益活动), or an online course."""

    class Form(models.TextChoices):
        GROUP = "group", "集中教育"
        ONLINE = "online", "网络课程"
        WELFARE = "welfare", "公益活动"
        OTHER = "other", "其他"

    office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    kind = models.CharField("类别", max_length=10, choices=[(k, v) for k, v in rules.HOURS_KINDS.items()])
    form = models.CharField("形式", max_length=10, choices=Form.choices)
    title = models.CharField("名称", max_length=100)
    day = models.DateField("日期")
    hours = models.DecimalField("时长（小时）", max_digits=4, decimal_places=1)
    place = models.CharField("地点", max_length=200, blank=True)
    for_minors = models.BooleanField("未成年人专场", default=False)  # 法52: minors apart from adults
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-day", "-id"]


class Hours(models.Model):
    """Hours of study or community service one person did, in an activity (signed in and out) or entered with
    evidence."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="hours")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    kind = models.CharField("类别", max_length=10, choices=[(k, v) for k, v in rules.HOURS_KINDS.items()])
    activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.PROTECT, related_name="attendance")
    day = models.DateField("日期")
    hours = models.DecimalField("时长（小时）", max_digits=4, decimal_places=1)
    signed_in = models.DateTimeField("签到", null=True, blank=True)
    signed_out = models.DateTimeField("签退", null=True, blank=True)
    evidence = models.CharField("佐证材料", max_length=300, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorder_name = models.CharField(max_length=60, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supersede_reason = models.CharField("更正理由", max_length=200, blank=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "client_id"], condition=~Q(client_id=""),
                                               name="hours_client_id_once")]
        indexes = [models.Index(fields=["org_path", "day"], name="hours_scope_day_idx"),
                   models.Index(fields=["case", "day"], name="hours_case_day_idx")]


class Request(models.Model):
    """An application that needs a decision: leave (外出), a standing cross-county permit (经常性跨市县), entry into
    a place a prohibition order restricts, a meeting (会客). The state changes through services.request_act only."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="requests")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    kind = models.CharField("类别", max_length=10, choices=[(k, v) for k, v in rules.REQUEST_KINDS.items()])
    state = models.CharField("状态", max_length=12, choices=[(k, v) for k, v in rules.REQUEST_STATE_LABELS.items()],
                             default=rules.RequestState.APPLIED)
    reason = models.CharField("事由", max_length=20, blank=True)
    detail = models.CharField("具体事由", max_length=500)
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")
    destination = models.CharField("目的地", max_length=200, blank=True)
    destination_adcodes = models.JSONField("目的地行政区划代码", default=list, blank=True)
    abroad = models.BooleanField("出境", default=False)
    evidence = models.CharField("证明材料", max_length=300, blank=True)
    applied_on = models.DateField("申请日期")
    channel = models.CharField(max_length=10, default="office")
    client_id = models.CharField(max_length=64, blank=True)
    authority = models.CharField("审批机关", max_length=10, blank=True)
    authority_org = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="+")
    decide_by = models.DateField("应于此日前审批", null=True, blank=True)
    tell_procuratorate = models.BooleanField("通报人民检察院", default=False)
    rolling_days = models.SmallIntegerField("两个月内累计外出天数", default=0)
    warnings = models.JSONField(default=list, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_on = models.DateField("审批日期", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=500, blank=True)
    departed_on = models.DateField("离开日期", null=True, blank=True)
    arrived_on = models.DateField("到达报告日期", null=True, blank=True)
    returned_on = models.DateField("返回（销假）日期", null=True, blank=True)
    late_days = models.SmallIntegerField("逾期返回天数", default=0)
    months = models.SmallIntegerField("延长月数", default=0)  # 延长病情复查期限
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["case", "client_id"], condition=~Q(client_id=""),
                                               name="request_client_id_once")]
        indexes = [models.Index(fields=["org_path", "state"], name="request_scope_state_idx"),
                   models.Index(fields=["state", "end"], name="request_state_end_idx")]

    @property
    def state_label(self) -> str:
        return rules.REQUEST_STATE_LABELS[rules.RequestState(self.state)]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class Attachment(models.Model):
    """A scan or photo of an application's proof (diagnosis, summons, employer's letter, business licence), kept with
    the application for the file (archived: never deleted or replaced)."""

    request = models.ForeignKey("Request", on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="requests/%Y/%m/")
    name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class RequestEvent(models.Model):
    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="events")
    code = models.CharField(max_length=20)
    label = models.CharField(max_length=40)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    day = models.DateField()
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=60, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Prohibition(models.Model):
    """A prohibition order (禁止令) of the judgment, as structured data: the activities, areas, places and people it
    forbids, and its period. The areas and places become exclusion zones for monitoring (issue 8); entering one
    needs the county agency's approval (a Request of kind "place"). Superseded, never edited."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="prohibitions")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    text = models.TextField("禁止令内容（判决原文）")
    activities = models.JSONField("禁止从事的活动", default=list, blank=True)
    areas = models.JSONField("禁止进入的区域", default=list, blank=True)
    places = models.JSONField("禁止进入的场所", default=list, blank=True)
    people = models.JSONField("禁止接触的人", default=list, blank=True)
    start = models.DateField("禁止令开始日期")
    end = models.DateField("禁止令结束日期")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    recorder_name = models.CharField(max_length=60, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supersede_reason = models.CharField("更正理由", max_length=200, blank=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-start", "-id"]


class Fact(models.Model):
    """What the daily job found: a period without a report-in, a late return, an incomplete 严管 week, a month's
    hours short. Raised once per case, kind and period; later assessment (考核) reads these."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="supervision_facts")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False, editable=False)
    kind = models.CharField(max_length=20, choices=[(k, v) for k, v in rules.FACT_LABELS.items()])
    period_start = models.DateField()
    period_end = models.DateField()
    article = models.CharField(max_length=100, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=200)
    raised_on = models.DateField()

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind", "period_start"], name="fact_once")]
        indexes = [models.Index(fields=["org_path", "period_start"], name="fact_scope_idx")]


class LevelChange(models.Model):
    """The day a case's management level changed: the report-in and four-ones periods before it are judged by the
    level then in force, not the new one (so the daily job judges only from here)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="level_changes")
    level = models.CharField(max_length=10)
    since = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-since", "-id"]


class RuleSetting(models.Model):
    """A province's own table (leave, report-ins, hours) in force from a date: its values replace the shipped
    table's fields (apps.supervision.rules); the table in force on the day a matter starts applies."""

    table = models.CharField(max_length=20)
    effective_from = models.DateField()
    values = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["table", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["table", "effective_from"], name="rule_setting_once")]
