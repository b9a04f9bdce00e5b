"""Cases (one period of community corrections of one person), their history and deadlines, and the holiday
calendar the deadlines count on. Writes go through apps.cases.services; a status is set by `case_transition` only."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.orgs.models import Organisation
from apps.people.models import Level, SentenceType, Supervisee

from . import rules

CaseStatus = models.TextChoices("CaseStatus", [(k.name, (k.value, v)) for k, v in rules.STATUS_LABELS.items()])
EndReason = models.TextChoices("EndReason", [(k.name, (k.value, v)) for k, v in rules.END_LABELS.items()])


class Case(models.Model):
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="cases", verbose_name="社区矫正对象")
    seq = models.PositiveSmallIntegerField("第几次社区矫正", default=1)
    status = models.CharField("阶段", max_length=20, choices=CaseStatus.choices, db_index=True)
    is_open = models.BooleanField(default=True, editable=False)
    # jurisdiction: the case's, not the person's; the person's row shows its open case's
    execution_county = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                         verbose_name="执行地县级社区矫正机构")
    judicial_office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                        verbose_name="负责司法所")
    org_path = models.CharField(max_length=255, editable=False)
    # the judgment this case executes, as it stood when the case opened or its sentence last changed
    sentence_type = models.CharField("矫正类别", max_length=20, choices=SentenceType.choices)
    judgment = models.JSONField("判决（裁定、决定）", default=dict)
    effective_date = models.DateField("判决（裁定、决定）生效日期")
    management_level = models.CharField("管理等级", max_length=10, choices=Level.choices)
    is_minor = models.BooleanField("未成年人", default=False)
    # the term, with what it was computed from and the article (recomputed when the sentence changes)
    term_start = models.DateField("矫正起始日")
    term_end = models.DateField("矫正期满日")
    term_basis = models.CharField("期限依据", max_length=200, blank=True)
    # intake (交付接收)
    notice_date = models.DateField("收到通知日期", null=True, blank=True)
    documents_date = models.DateField("收到法律文书日期", null=True, blank=True)
    documents = models.JSONField("收到的法律文书", default=list, blank=True)
    reported_date = models.DateField("报到（移送交接）日期", null=True, blank=True)
    delivering_unit = models.CharField("移送单位", max_length=100, blank=True)
    announced_date = models.DateField("宣告日期", null=True, blank=True)
    steps_done = models.JSONField("已完成的步骤", default=list, blank=True)
    lost_since = models.DateField("失去联系日期", null=True, blank=True)
    # end
    end_reason = models.CharField("解除（终止）原因", max_length=20, choices=EndReason.choices, blank=True)
    end_date = models.DateField("解除（终止）日期", null=True, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        verbose_name = "社区矫正案件"
        ordering = ["-id"]
        constraints = [
            # one open case per person at a time
            models.UniqueConstraint(fields=["person"], condition=Q(is_open=True), name="case_one_open_per_person"),
            models.UniqueConstraint(fields=["person", "seq"], name="case_person_seq"),
        ]
        indexes = [
            models.Index(fields=["org_path", "status"], name="case_scope_status_idx"),
        ]

    def __str__(self) -> str:
        return f"案件{self.pk}"

    @property
    def label(self) -> str:
        return rules.STATUS_LABELS[rules.CaseStatus(self.status)]


class CaseEvent(models.Model):
    """One line of a case's history: every transition and step, who made it, when, on what basis."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=60)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    article = models.CharField(max_length=100, blank=True)
    day = models.DateField("办理日期")
    note = models.CharField("说明", max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=60, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Task(models.Model):
    """An open deadline: what is due, by when, on what article, for which office and person."""

    class State(models.TextChoices):
        OPEN = "open", "待办"
        DONE = "done", "已办结"
        CANCELLED = "cancelled", "已撤销"

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    investigation = models.ForeignKey("Investigation", null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="tasks")
    is_minor = models.BooleanField(default=False)  # sealed with its case or investigation (法54)
    kind = models.CharField(max_length=40)
    title = models.CharField("事项", max_length=60)
    article = models.CharField("法律依据", max_length=100)
    anchor_date = models.DateField("起算日")
    days = models.SmallIntegerField("期限")
    day_kind = models.CharField(max_length=10, choices=[(k.value, k.value) for k in rules.DayKind])
    due_date = models.DateField("截止日期", db_index=True)
    provisional = models.BooleanField("按周一至周五推算（节假日安排未发布）", default=False)
    org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="责任单位")
    org_path = models.CharField(max_length=255, editable=False)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name="责任人")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_note = models.CharField(max_length=200, blank=True)
    overdue_raised_at = models.DateTimeField(null=True, blank=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind"], condition=Q(state="open"), name="task_one_open_per_kind"),
            models.CheckConstraint(condition=Q(case__isnull=False) | Q(investigation__isnull=False),
                                   name="task_has_a_subject"),
        ]
        indexes = [
            models.Index(fields=["org_path", "state", "due_date"], name="task_scope_due_idx"),
            models.Index(fields=["state", "due_date"], name="task_open_due_idx"),
        ]


class HolidayYear(models.Model):
    """A year whose official schedule is loaded (until then, its deadlines are computed Monday to Friday)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    source = models.CharField("国务院通知", max_length=300, blank=True)
    loaded_at = models.DateTimeField(auto_now=True)


class Holiday(models.Model):
    day = models.DateField(primary_key=True)
    year = models.ForeignKey(HolidayYear, on_delete=models.CASCADE, related_name="days")
    is_off = models.BooleanField("放假")  # False: a weekend make-up working day (调休上班)
    name = models.CharField(max_length=30)


class DeadlineSetting(models.Model):
    """A province's own number for a deadline the law does not fix, in force from a date (the rule in force on the
    day a deadline starts counting applies)."""

    kind = models.CharField(max_length=40)
    days = models.SmallIntegerField()
    effective_from = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["kind", "effective_from"], name="deadline_setting_once")]


class JobRun(models.Model):
    """A day's run of a daily job, claimed before it runs (so it runs once a day whoever starts it)."""

    job = models.CharField(max_length=40)
    day = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    result = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "day"], name="jobrun_once_a_day")]


class Investigation(models.Model):
    """A pre-sentence investigation (调查评估) requested by a court, procuratorate, police or prison administration.
    The subject is not (yet) a supervisee: their identity is kept here. Locked once the opinion is issued."""

    Status = models.TextChoices("Status", [(k.value, v) for k, v in rules.INV_LABELS.items()])

    subject_name = models.CharField("被调查人姓名", max_length=30)
    subject_gender = models.CharField("性别", max_length=1, choices=[("M", "男"), ("F", "女")])
    subject_id_number = models.CharField("公民身份号码", max_length=18, blank=True)
    subject_birth_date = models.DateField("出生日期")
    subject_address = models.CharField("居住地址", max_length=200)
    crime = models.CharField("涉嫌罪名", max_length=60)
    proposed = models.CharField("拟适用", max_length=20, choices=SentenceType.choices)
    requester_kind = models.CharField("委托机关类别", max_length=20,
                                      choices=[(k, v) for k, v in rules.REQUESTER_KINDS.items()])
    requester = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    requester_name = models.CharField("委托机关", max_length=100)
    letter_number = models.CharField("委托函文号", max_length=60)
    received_date = models.DateField("收到委托函日期")
    fast_track = models.BooleanField("适用速裁程序", default=False)
    county = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="受托县级机构")
    office = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name="调查司法所")
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=rules.InvStatus.RECEIVED)
    findings = models.JSONField("调查情况", default=dict, blank=True)
    opinion = models.CharField("评估意见", max_length=20, blank=True)
    opinion_text = models.TextField("意见说明", blank=True)
    cannot_reason = models.CharField("无法调查评估的原因", max_length=300, blank=True)
    issued_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-id"]

    @property
    def label(self) -> str:
        return rules.INV_LABELS[rules.InvStatus(self.status)]


class Transfer(models.Model):
    """A change of execution county (执行地变更): both agencies see it and its timers; the case changes jurisdiction
    only when the new agency confirms receipt, and the old agency supervises until then."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transfers")
    from_county = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    to_county = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    from_path = models.CharField(max_length=255)
    to_path = models.CharField(max_length=255)
    stage = models.CharField(max_length=20, default="applied")
    applied_date = models.DateField()
    planned_date = models.DateField("拟迁居日期")
    new_address = models.CharField("新居住地址", max_length=200)
    reason = models.CharField("变更理由", max_length=300, blank=True)
    office_view = models.CharField("司法所意见", max_length=500, blank=True)
    agreed = models.BooleanField(null=True)
    answer_note = models.CharField("回复意见", max_length=500, blank=True)
    decided_date = models.DateField(null=True, blank=True)
    received_date = models.DateField(null=True, blank=True)
    new_office = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["case"], condition=Q(is_open=True),
                                               name="transfer_one_open_per_case")]
