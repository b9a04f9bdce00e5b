"""The demo carries cases at every stage, so every queue and document can be seen at once."""
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from apps.audit.services import audit_verify
from apps.cases.models import Case, Investigation, Task, Transfer
from apps.documents.models import Document


@pytest.mark.django_db
def test_the_demo_has_every_stage_queue_and_document(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()
    call_command("seed_demo", "--count", "60", stdout=out)
    assert "案件各阶段演示" in out.getvalue()
    statuses = Counter(Case.objects.values_list("status", flat=True))
    for s in ("awaiting_report", "missing", "reported", "active", "transferring", "revocation_pending", "released",
              "terminated"):
        assert statuses[s] > 0, s
    assert Case.objects.filter(end_reason="probation_revoked").exists()
    kinds = set(Task.objects.filter(state="open").values_list("kind", flat=True))
    assert {"report_in", "search", "notify_procuratorate", "announce", "transfer_answer", "release_appraisal",
            "release", "investigation"} <= kinds
    assert Task.objects.filter(state="open", overdue_raised_at__isnull=False).exists(), "an overdue queue"
    docs = set(Document.objects.values_list("doc_type", flat=True))
    assert {"receipt", "report_notice", "announcement", "team_agreement", "missing_report", "transfer_letter",
            "release_appraisal", "release_announcement", "release_certificate", "release_notice",
            "termination_notice", "investigation_opinion"} <= docs
    assert set(Investigation.objects.values_list("status", flat=True)) == {"received", "assigned", "issued"}
    assert Transfer.objects.filter(stage="letter_sent").exists()
    assert audit_verify().ok
