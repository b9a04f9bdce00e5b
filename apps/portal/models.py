"""The supervisee's own sign-in (ADR 0010): an account per person (not a staff account), the phones bound to it,
and the officer's messages. Writes go through apps.portal.services."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.cases.models import Case
from apps.people.models import Supervisee


class Account(models.Model):
    person = models.OneToOneField(Supervisee, on_delete=models.PROTECT, related_name="portal_account")
    org_path = models.CharField(max_length=255, editable=False)
    password = models.CharField(max_length=128, blank=True)  # Django's hasher; empty until the first sign-in
    code_hash = models.CharField(max_length=128, blank=True)  # the officer's one-time code, hashed
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    activated_at = models.DateTimeField(null=True, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    SCOPE_FIELD = "org_path"


class Device(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "待审批"
        ACTIVE = "active", "已绑定"
        REVOKED = "revoked", "已解绑"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="devices")
    key_hash = models.CharField(max_length=64, unique=True)  # SHA-256 of the phone's cookie
    label = models.CharField("设备", max_length=120, blank=True)  # from the browser's user agent
    state = models.CharField("状态", max_length=10, choices=State.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_by_name = models.CharField(max_length=60, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "state"], name="device_account_state_idx")]


class Message(models.Model):
    """A message from the officer to the supervisee's phone."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Supervisee, on_delete=models.PROTECT, related_name="+")
    org_path = models.CharField(max_length=255, editable=False)
    text = models.TextField("内容")
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    sender_name = models.CharField(max_length=60)
    sent_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    SCOPE_FIELD = "org_path"

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["person", "read_at"], name="message_unread_idx")]
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="message_not_empty")]
