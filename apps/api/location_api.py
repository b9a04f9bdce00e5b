"""Location in the API: `POST /api/v1/pings` takes a batch of fixes from a wristband platform's account (or any
account with location.ingest) and answers only after the good ones are stored. Each fix is judged on its own: the
bad ones come back with reasons, the good ones are kept, a client id already stored is a duplicate (a retried batch
stores nothing twice). The body is read as plain JSON, not through a schema, so one bad fix cannot refuse the rest."""
from __future__ import annotations

import json
from typing import Optional

from django.http import HttpRequest
from ninja import Router, Schema, Status

from apps.audit.context import client_ip
from apps.monitoring import location
from apps.people.services import InputErrors, NotPermitted

router = Router(tags=["location"])
MAX_BODY = 4_000_000  # bytes: 10,000 fixes of about 200 bytes each, with room


class FixIn(Schema):
    device: str  # the wristband's IMEI (or the phone's tracker id)
    client_id: str  # the device's own id of this fix: a retry sends the same
    time: str  # ISO 8601 with its offset, or epoch milliseconds
    lat: float
    lon: float
    accuracy: Optional[float] = None  # metres; by source when absent (GNSS 30, WiFi 100, cell 1000)
    source: str = "gnss"  # gnss, cell or wifi
    battery: Optional[float] = None  # percent
    crs: str = "wgs84"  # wgs84, gcj02 or bd09 (stored as WGS-84)
    tamper: bool = False  # the wristband reports its strap opened or cut


class PingsIn(Schema):
    fixes: list[FixIn]


class Rejected(Schema):
    index: int
    client_id: Optional[str]
    errors: dict[str, str]


class PingsOut(Schema):
    batch: Optional[int]
    stored: int
    duplicates: int
    rejected: list[Rejected]
    alerts: int


class Problem(Schema):
    detail: str
    errors: dict[str, str] = {}


@router.post("/pings", response={200: PingsOut, 400: Problem, 403: Problem, 413: Problem, 422: PingsOut},
             openapi_extra={"requestBody": {"content": {"application/json": {"schema": PingsIn.json_schema()}},
                                            "required": True}})
def pings(request: HttpRequest):
    if len(request.body) > MAX_BODY:
        return Status(413, {"detail": "请求过大：请分批上传（每批不超过 10000 条）"})
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, RecursionError):
        return Status(400, {"detail": "请求内容不是有效的 JSON"})
    fixes = body.get("fixes") if isinstance(body, dict) else None
    try:
        res = location.ingest(actor=request.auth, fixes=fixes, ip=client_ip(request))
    except InputErrors as e:
        return Status(400, {"detail": "请求内容不正确", "errors": e.errors})
    except NotPermitted as e:
        return Status(403, {"detail": str(e)})
    out = {"batch": res.batch_id, "stored": res.stored, "duplicates": res.duplicates, "rejected": res.rejected,
           "alerts": res.alerts}
    return Status(422 if res.rejected and not (res.stored or res.duplicates) else 200, out)
