"""Issued documents and their numbers (gap-free per agency, per kind, per year)."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.orgs.models import Organisation


class DocumentCounter(models.Model):
    """The last number an agency gave a kind of document in a year; taken under a row lock in the issuing
    transaction, so a rolled-back issue gives its number back and the sequence has no gaps."""

    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    doc_type = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "doc_type", "year"], name="doc_counter_once")]


class Document(models.Model):
    doc_type = models.CharField(max_length=40, db_index=True)
    title = models.CharField(max_length=60)
    number = models.CharField("文号", max_length=60)
    seq = models.PositiveIntegerField()
    year = models.PositiveSmallIntegerField()
    agency = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="制发机关")
    # what it is about (a case), without this app importing the app that owns it
    object_type = models.CharField(max_length=30)
    object_id = models.CharField(max_length=40, db_index=True)
    org_path = models.CharField(max_length=255, editable=False)
    is_minor = models.BooleanField(default=False)
    context = models.JSONField("文书内容", default=dict)  # the facts as they were when issued: the text never drifts
    issued_on = models.DateField("落款日期")
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["agency", "doc_type", "year", "seq"], name="doc_number_once")]
