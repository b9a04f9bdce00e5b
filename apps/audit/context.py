"""What a page passes to a service about who is asking from where (kept with the audit record)."""


def client_ip(request) -> str:
    if request is None:
        return ""
    return (request.META.get("REMOTE_ADDR") or "")[:45]
