"""The authorization matrix: every URL and endpoint, for every role, inside and outside the caller's
jurisdiction, for an adult's record and a minor's. A URL that is not enrolled here fails the suite.

Denied answers look exactly like not-found (404, same message) for records and pages; the API answers
401 without a token and 403 for a list the role may not read."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Callable

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image

from apps.orgs import services as org_services
from apps.orgs.rules import Action, Role
from apps.orgs.testing import given_staff, given_supervisee
from apps.people.models import Supervisee

A = Action


@dataclass(frozen=True)
class Spec:
    name: str
    method: str
    action: Action | None  # None: public
    ok: tuple[int, ...]
    denied: int = 404
    per_record: bool = False
    api: bool = False
    data: dict = field(default_factory=dict)
    extra: Callable | None = None  # extra kwargs for reverse()


BAD_FORM = {"name": "<script>", "id_number": "1"}
SPECS = [
    Spec("login", "GET", None, (200, 302)),
    Spec("logout", "POST", None, (302,)),
    Spec("healthz", "GET", None, (200,)),
    Spec("set_language", "POST", None, (302,), data={"language": "en", "next": "/people/"}),
    Spec("orgs:staff", "GET", A.STAFF_VIEW, (200,)),
    Spec("orgs:minor_access", "POST", A.STAFF_MANAGE, (302,), data={"granted": "1", "reason": "负责未成年人案件"},
         extra=lambda ctx: {"pk": ctx["staff_target"].pk}),
    Spec("orgs:staff_create", "GET", A.STAFF_MANAGE, (200,)),
    Spec("orgs:staff_create", "POST", A.STAFF_MANAGE, (422,), data={"username": ""}),
    Spec("orgs:staff_active", "POST", A.STAFF_MANAGE, (302,), data={"active": "1", "reason": "复职"},
         extra=lambda ctx: {"pk": ctx["staff_target"].pk}),
    Spec("orgs:password", "GET", None, (200,)),
    Spec("orgs:password", "POST", None, (422,), data={"old": "wrong", "new": "x", "new_again": "y"}),
    Spec("audit:list", "GET", A.AUDIT_VIEW, (200,)),
    Spec("people:list", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("people:export", "GET", A.SUPERVISEE_EXPORT, (200,)),
    Spec("people:create", "GET", A.SUPERVISEE_CREATE, (200,)),
    Spec("people:create", "POST", A.SUPERVISEE_CREATE, (422,), data=BAD_FORM),
    Spec("people:import", "GET", A.SUPERVISEE_IMPORT, (200,)),
    Spec("people:import", "POST", A.SUPERVISEE_IMPORT, (422,)),
    Spec("people:import_confirm", "POST", A.SUPERVISEE_IMPORT, (302,)),
    Spec("people:import_template", "GET", A.SUPERVISEE_IMPORT, (200,)),
    Spec("people:detail", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True),
    Spec("people:photo", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True),
    Spec("people:edit", "GET", A.SUPERVISEE_CHANGE, (200,), per_record=True),
    Spec("people:edit", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data=BAD_FORM),
    Spec("people:contact_add", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"name": ""}),
    Spec("people:team_add", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"name": ""}),
    Spec("people:team_remove", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True,
         extra=lambda ctx: {"member_id": 999999}),
    # API (bearer token)
    Spec("api:openapi-json", "GET", None, (200,), api=True),
    Spec("api:openapi-view", "GET", None, (200,), api=True),
    Spec("api:api-root", "GET", None, (404,), api=True),
    Spec("api:token_create", "POST", None, (401,), api=True, data={"username": "nobody", "password": "x"}),
    Spec("api:token_delete", "DELETE", A.ORG_VIEW, (204,), api=True, denied=401),
    Spec("api:me", "GET", A.ORG_VIEW, (200,), api=True, denied=401),
    Spec("api:orgs", "GET", A.ORG_VIEW, (200,), api=True, denied=401),
    Spec("api:supervisees", "GET", A.SUPERVISEE_VIEW, (200,), api=True, denied=403),
    Spec("api:supervisee_create", "POST", A.SUPERVISEE_CREATE, (422,), api=True, denied=403,
         data={k: "1" for k in ("name", "id_number", "household_address", "residence_address", "judicial_office",
                                "sentence_type", "deciding_organ_name", "judgment_number", "crime",
                                "original_penalty", "judgment_date", "effective_date")}),
    Spec("api:supervisee_detail", "GET", A.SUPERVISEE_VIEW, (200,), api=True, per_record=True),
    Spec("api:supervisee_patch", "PATCH", A.SUPERVISEE_CHANGE, (200,), api=True, per_record=True,
         data={"phone": "13807910088"}),
]


def _url_names():
    def walk(patterns, ns=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, f"{ns}{p.namespace}:" if p.namespace else ns)
            elif isinstance(p, URLPattern):
                yield ns + (p.name or f"<unnamed {p.pattern}>")
    return set(walk(get_resolver().url_patterns))


def test_every_url_is_enrolled_in_the_matrix():
    enrolled = {s.name for s in SPECS}
    missing = _url_names() - enrolled
    assert not missing, f"URLs not enrolled in the authorization matrix: {sorted(missing)}"
    assert not enrolled - _url_names(), "matrix names URLs that do not exist"


def _photo():
    buf = io.BytesIO()
    Image.new("RGB", (200, 250), (180, 160, 150)).save(buf, "JPEG")
    return ContentFile(buf.getvalue(), "p.jpg")


@pytest.mark.django_db
def test_authorization_matrix(tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    dh_officer = given_staff(tree.donghu, "county_officer", minor_access=True)
    xh_officer = given_staff(tree.xihu, "county_officer", minor_access=True)
    targets = {
        ("inside", "adult"): given_supervisee(dh_officer, office=tree.donghu_office),
        ("inside", "minor"): given_supervisee(dh_officer, office=tree.donghu_office, minor=True),
        ("outside", "adult"): given_supervisee(xh_officer, office=tree.xihu_office),
        ("outside", "minor"): given_supervisee(xh_officer, office=tree.xihu_office, minor=True),
    }
    for s in targets.values():
        s.photo.save(f"s{s.pk}.jpg", _photo(), save=True)

    home = {
        Role.COUNTY_OFFICER: tree.donghu, Role.OFFICE_STAFF: tree.donghu_office, Role.AUXILIARY: tree.donghu,
        Role.POLICE_SECONDEE: tree.donghu_police, Role.SOCIAL_WORKER: tree.donghu_office,
        Role.VOLUNTEER: tree.donghu_office, Role.CITY_SUPERVISOR: tree.city, Role.PROVINCE_SUPERVISOR: tree.province,
        Role.PROCURATOR: tree.donghu_procuratorate, Role.SYSADMIN: tree.province,
    }
    users = [given_staff(org, role.value) for role, org in home.items()]
    users.append(given_staff(tree.donghu, "county_officer", minor_access=True))  # holds the minors grant
    ctx = {"staff_target": given_staff(tree.xihu_office, "office_staff")}

    failures = []
    checked = 0
    for user in users:
        for spec in SPECS:
            cases = targets.items() if spec.per_record else [(None, None)]
            for key, target in cases:
                client = Client()
                headers = {}
                if spec.api:
                    if spec.action is not None:
                        headers["HTTP_AUTHORIZATION"] = "Bearer " + org_services.token_issue(user=user).key
                else:
                    client.force_login(user)
                kwargs = {}
                if spec.per_record:
                    kwargs["supervisee_id" if spec.api else "pk"] = target.pk
                if spec.extra:
                    kwargs.update(spec.extra(ctx))
                url = reverse(spec.name, kwargs=kwargs or None)
                if spec.api and spec.method in ("POST", "PATCH"):
                    import json

                    resp = client.generic(spec.method, url, json.dumps(spec.data), content_type="application/json",
                                          **headers)
                else:
                    resp = client.generic(spec.method, url, data=_encode(spec.data),
                                          content_type="application/x-www-form-urlencoded", **headers)
                allowed = spec.action is None or user.can(spec.action)
                if spec.per_record and allowed:
                    allowed = target.org_path.startswith(user.scope_path) and (not target.is_minor or user.minor_access)
                # a record the caller may not see answers 404 whatever the reason; other denials spec.denied
                expected = spec.ok if allowed else ((404,) if spec.per_record else (spec.denied,))
                checked += 1
                if resp.status_code not in expected:
                    failures.append(f"{user.roles[0]}{'+minors' if user.minor_access else ''} {spec.method} "
                                    f"{spec.name} {key or ''}: got {resp.status_code}, expected {expected}")
                elif spec.per_record and spec.api and not allowed:
                    assert resp.json() == {"detail": "记录不存在或您无权查看"}
    assert not failures, f"{len(failures)} of {checked} cases wrong:\n" + "\n".join(failures)
    assert checked > 500


def _encode(data: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(data)


@pytest.mark.django_db
def test_not_found_and_out_of_scope_answer_the_same(tree, client):
    dh = given_staff(tree.donghu, "county_officer")
    xh = given_staff(tree.xihu, "county_officer")
    s = given_supervisee(xh, office=tree.xihu_office)
    client.force_login(dh)
    a = client.get(reverse("people:detail", args=[s.pk]))
    b = client.get(reverse("people:detail", args=[s.pk + 1000]))
    assert a.status_code == b.status_code == 404
    import re

    def strip_csrf(body):  # the only per-response difference: a fresh CSRF token
        return re.sub(rb'"X-CSRFToken": "[^"]+"', b"", body)

    assert strip_csrf(a.content) == strip_csrf(b.content)
    token = org_services.token_issue(user=dh).key
    a = client.get(f"/api/v1/supervisees/{s.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    b = client.get(f"/api/v1/supervisees/{s.pk + 1000}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (a.status_code, a.json()) == (b.status_code, b.json()) == (404, {"detail": "记录不存在或您无权查看"})
    assert Supervisee.objects.filter(pk=s.pk).exists()
