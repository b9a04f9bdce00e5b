"""Organisation tree and staff accounts."""
from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from . import rules


class Organisation(models.Model):
    """A node of the tree province > city > county agency > judicial office, or an external organ
    (court, procuratorate, police) that oversees one county (`oversees`).

    `path` is the materialised path of zero-padded ids ("/00000001/00000005/"): a subtree is one indexed prefix
    match, and ordering by path lists the tree depth-first."""

    Kind = models.TextChoices("Kind", [(k.name, (k.value, rules.ORG_KIND_LABELS[k])) for k in rules.OrgKind])

    name = models.CharField("名称", max_length=100)
    short_name = models.CharField("简称", max_length=50, blank=True)
    kind = models.CharField("类型", max_length=20, choices=Kind.choices)
    adcode = models.CharField("行政区划代码", max_length=12, blank=True, db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    oversees = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="overseen_by",
        help_text="外部机关（法院、检察院、公安）所对应的县级社区矫正机构",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    SCOPE_FIELD = "path"
    address = models.CharField("地址", max_length=200, blank=True)
    phone = models.CharField("电话", max_length=30, blank=True)

    class Meta:
        ordering = ["path"]
        verbose_name = "机构"
        constraints = [
            models.UniqueConstraint(fields=["kind", "adcode", "name"], name="org_unique_kind_adcode_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_external(self) -> bool:
        return self.kind in rules.EXTERNAL_KINDS

    @property
    def scope_path(self) -> str:
        """The subtree this organisation's staff may see: its own, or the county it oversees."""
        if self.is_external:
            return self.oversees.path if self.oversees_id else "/nowhere/"
        return self.path

    @property
    def boundary(self) -> dict | None:
        """The jurisdiction's GeoJSON geometry (WGS-84 as stored), or None."""
        try:
            return self.boundary_row.geometry
        except OrgBoundary.DoesNotExist:
            return None

    def ancestors(self) -> list[Organisation]:
        ids = [int(p) for p in self.path.strip("/").split("/") if p]
        by_id = Organisation.objects.in_bulk(ids)
        return [by_id[i] for i in ids if i in by_id]

    def county(self) -> Organisation | None:
        for org in self.ancestors():
            if org.kind == rules.OrgKind.COUNTY_AGENCY:
                return org
        return None


class OrgBoundary(models.Model):
    """Boundaries live apart from the tree: a province outline is ~350 KB of GeoJSON, and the tree is read
    on every request (a user's organisation, office pickers). Read it only where geometry is needed."""

    organisation = models.OneToOneField(Organisation, primary_key=True, on_delete=models.CASCADE,
                                        related_name="boundary_row")
    geometry = models.JSONField("辖区边界 (GeoJSON, WGS-84)")
    source = models.CharField("数据来源", max_length=100, blank=True)
    source_crs = models.CharField("来源坐标系", max_length=8, blank=True,
                                  help_text="边界来源数据的坐标系（WGS84、GCJ02、BD09）；存储时一律转换为 WGS-84")


class StaffManager(UserManager):
    pass


class User(AbstractUser):
    """A staff account. Roles are role codes from `rules.Role`; scope is the organisation subtree."""

    full_name = models.CharField("姓名", max_length=50, blank=True)
    organisation = models.ForeignKey(Organisation, null=True, on_delete=models.PROTECT, related_name="staff",
                                     verbose_name="所属机构")
    roles = models.JSONField("角色", default=list)
    gender = models.CharField("性别", max_length=1, blank=True, choices=[("M", "男"), ("F", "女")])
    phone = models.CharField("电话", max_length=20, blank=True)
    minor_access = models.BooleanField("可查阅未成年人档案", default=False)
    must_change_password = models.BooleanField("须修改密码", default=False,
                                               help_text="管理员重置密码后，本人下次登录须先修改密码")

    objects = StaffManager()
    SCOPE_FIELD = "organisation__path"

    class Meta:
        verbose_name = "工作人员"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(self.roles or [])

    def can(self, action: rules.Action | str) -> bool:
        return self.is_active and rules.allowed(self.role_set, action)

    @property
    def scope_path(self) -> str:
        return self.organisation.scope_path if self.organisation_id else "/nowhere/"

    @property
    def role_labels(self) -> list[str]:
        return [rules.ROLE_LABELS[rules.Role(r)] for r in self.roles if r in rules.Role.__members__.values()]


class LoginThrottle(models.Model):
    """Failed sign-ins counted per user name, whether or not the account exists, so the answers and the
    lock-out never tell an outsider which names are real."""

    username = models.CharField(max_length=150, unique=True)
    failed = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class ApiToken(models.Model):
    """A bearer token for devices, kiosks and the portal. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, default="api")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API 令牌"
