"""Supervisees (社区矫正对象), their contacts and correction team. Writes go through services."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.orgs.models import Organisation

from . import rules

# Choices built from the rules' enums: value = the code stored, label = the Chinese word shown.
SentenceType = models.TextChoices("SentenceType", [(k.name, (k.value, v)) for k, v in rules.SENTENCE_LABELS.items()])
Level = models.TextChoices("Level", [(k.name, (k.value, v)) for k, v in rules.LEVEL_LABELS.items()])
Status = models.TextChoices("Status", [(k.name, (k.value, v)) for k, v in rules.STATUS_LABELS.items()])
GENDERS = [("M", "男"), ("F", "女")]


class Supervisee(models.Model):
    # identity
    name = models.CharField("姓名", max_length=30)
    # What a reader without the minors' grant may sort by: the name, or for a minor its first character and "*"
    # (apps.people.rules.sort_name); kept by the services, so that sort walks an index too.
    sort_name = models.CharField(max_length=31, editable=False, default="")
    former_names = models.CharField("曾用名", max_length=60, blank=True)
    gender = models.CharField("性别", max_length=1, choices=GENDERS)
    ethnicity = models.CharField("民族", max_length=10, default="汉族")
    id_number = models.CharField("公民身份号码", max_length=18, unique=True)
    birth_date = models.DateField("出生日期")
    phone = models.CharField("手机号码", max_length=20, blank=True)
    photo = models.ImageField("照片", upload_to="photos/%Y/%m/", blank=True)
    education = models.CharField("文化程度", max_length=20, blank=True)
    occupation = models.CharField("就业就学情况", max_length=60, blank=True)
    # household registration and residence
    household_adcode = models.CharField("户籍地区划代码", max_length=6, blank=True)
    household_address = models.CharField("户籍地址", max_length=200)
    residence_address = models.CharField("居住地址", max_length=200)
    residence_lon = models.FloatField("居住地经度", null=True, blank=True)
    residence_lat = models.FloatField("居住地纬度", null=True, blank=True)
    execution_county = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+",
                                         verbose_name="执行地县级社区矫正机构")
    judicial_office = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="supervisees",
                                        verbose_name="负责司法所")
    org_path = models.CharField(max_length=255, db_index=True, editable=False)
    # sentence
    sentence_type = models.CharField("矫正类别", max_length=20, choices=SentenceType.choices, db_index=True)
    deciding_organ = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name="决定机关")
    deciding_organ_name = models.CharField("决定机关名称", max_length=100)
    judgment_number = models.CharField("判决（裁定、决定）书文号", max_length=60)
    crime = models.CharField("罪名", max_length=60)
    original_penalty = models.CharField("原判刑罚", max_length=60, help_text="如：有期徒刑三年")
    judgment_date = models.DateField("判决（裁定、决定）日期")
    effective_date = models.DateField("生效日期")
    term_months = models.PositiveSmallIntegerField("管制刑期/缓刑考验期（月）", null=True, blank=True)
    detention_days = models.PositiveIntegerField("先行羁押天数", default=0)
    release_date = models.DateField("出监（所）日期", null=True, blank=True)
    sentence_end_date = models.DateField("原判刑期止日", null=True, blank=True)
    temporary_ground = models.CharField("暂予监外执行情形", max_length=12, blank=True,
                                        choices=[(k.value, v) for k, v in rules.GROUND_LABELS.items()])
    supervision_start = models.DateField("矫正起始日")
    supervision_end = models.DateField("矫正终止日")
    # supervision state (changed by the cases and assessment issues through their services)
    management_level = models.CharField("管理等级", max_length=10, choices=Level.choices, default=rules.Level.STRICT,
                                        db_index=True)
    status = models.CharField("矫正状态", max_length=12, choices=Status.choices, default=rules.Status.ACTIVE,
                              db_index=True)
    is_minor = models.BooleanField("未成年人", default=False, db_index=True,
                                   help_text="矫正开始时未满18周岁（社区矫正法第58条）")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    SCOPE_FIELD = "org_path"

    class Meta:
        verbose_name = "社区矫正对象"
        ordering = ["-supervision_start", "id"]
        indexes = [
            models.Index(fields=["org_path", "status"], name="sup_scope_status_idx"),
            # every sort of the list, with id as the tie-breaker, so a page (and keyset paging) walks an index
            models.Index(fields=["org_path", "id"], name="sup_office_order_idx"),
            models.Index(fields=["supervision_start", "id"], name="sup_start_idx"),
            models.Index(fields=["supervision_end", "id"], name="sup_end_idx"),
            models.Index(fields=["name", "id"], name="sup_name_idx"),
            models.Index(fields=["sort_name", "id"], name="sup_sort_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id(self) -> str:
        return rules.mask_id(self.id_number)

    def display_name(self, *, reveal: bool) -> str:
        return self.name if (reveal or not self.is_minor) else rules.mask_name(self.name)

    def age_on(self, day) -> int:
        return rules.age_on(self.birth_date, day)


class Contact(models.Model):
    supervisee = models.ForeignKey(Supervisee, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField("姓名", max_length=30)
    relation = models.CharField("关系", max_length=20)
    phone = models.CharField("电话", max_length=20, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    is_guardian = models.BooleanField("监护人", default=False)

    class Meta:
        ordering = ["id"]


class TeamMember(models.Model):
    """A member of the correction team (矫正小组, 社区矫正法第25条)."""

    class Kind(models.TextChoices):
        OFFICE = "office", "司法所工作人员"
        COMMUNITY = "community", "村（居）委会人员"
        FAMILY = "family", "监护人或家庭成员"
        WORKPLACE = "workplace", "所在单位或学校人员"
        SOCIAL_WORKER = "social_worker", "社会工作者"
        VOLUNTEER = "volunteer", "志愿者"

    supervisee = models.ForeignKey(Supervisee, on_delete=models.CASCADE, related_name="team")
    name = models.CharField("姓名", max_length=30)
    kind = models.CharField("身份", max_length=20, choices=Kind.choices)
    gender = models.CharField("性别", max_length=1, choices=GENDERS)
    phone = models.CharField("电话", max_length=20, blank=True)
    knows_minors = models.BooleanField("熟悉未成年人身心特点", default=False)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")

    class Meta:
        ordering = ["id"]


class StagedImport(models.Model):
    """A checked sheet waiting for the officer's confirmation. The file is kept in Django's storage (not a local
    path), so any web process can confirm it; unconfirmed sheets are removed after a day."""

    token = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    file = models.CharField(max_length=200)
    filename = models.CharField(max_length=200)
    rows = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


class ExportJob(models.Model):
    """An export too big to build while the officer waits: built in the background, with its progress, and the
    file kept for download for a few days (settings.ZHIJIAO_EXPORT_KEEP_DAYS)."""

    class State(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "正在生成"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filters = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # what the requester could see when it was built; the file is served only while that still holds
    scope_path = models.CharField(max_length=255, blank=True)
    revealed_minors = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]

    @property
    def percent(self) -> int:
        return 100 if self.state == self.State.DONE else int(100 * self.done / self.total) if self.total else 0
