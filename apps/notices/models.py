"""Notices from one organisation to another: the copies the law requires (the procuratorate told of a long leave,
an extension of the hospital check) and the letters that ask for help (外出期间协助监管函 to the destination's county
agency). The recipient may be outside the case's scope, so a notice carries its own particulars and, at most, one
issued document; it never opens the case to its reader."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.cases.models import Case
from apps.documents.models import Document
from apps.orgs.models import Organisation


class Notice(models.Model):
    kind = models.CharField("类别", max_length=30)
    to_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="收件机关")
    from_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="发件机关")
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("正文")
    facts = models.JSONField("要素", default=list, blank=True)  # [[label, value], ...] shown as a table
    ref = models.CharField(max_length=40, blank=True, db_index=True)  # what it is about for the sender: "request:12"
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_minor = models.BooleanField(default=False)  # a minor's particulars: only readers with minor access
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField("阅知时间", null=True, blank=True)
    read_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["to_org", "read_at"], name="notice_inbox_idx")]
