"""Request hygiene before any view: a NUL character in a query string, a form or a JSON body can reach no text
field (PostgreSQL refuses it with an error that would be a 500), so such a request is answered 400, in words."""
from __future__ import annotations

from django.http import HttpResponse, JsonResponse

MESSAGE = "请求中含有非法字符（NUL），未处理"


def _has_nul(values) -> bool:
    return any("\x00" in v for v in values)


class NulCharacterGuard:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = "\x00" in request.path or _has_nul(request.GET.keys()) or _has_nul(
            v for vs in request.GET.lists() for v in vs[1])
        ctype = request.META.get("CONTENT_TYPE", "").lower()
        if not bad and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if ctype.startswith("multipart/form-data"):  # files may hold any byte; the fields may not
                bad = _has_nul(v for vs in request.POST.lists() for v in vs[1])
            else:  # JSON (the API parses any body as JSON, whatever it is labelled), forms, anything else
                body = request.body
                bad = b"\x00" in body or b"\\u0000" in body.lower()
        if bad:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": MESSAGE}, status=400, json_dumps_params={"ensure_ascii": False})
            return HttpResponse(MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
