from django.conf import settings
from django.shortcuts import redirect

# Paths that answer without a staff session: the sign-in page itself, health, static files,
# the language switch, and the API (which authenticates each request with its bearer token).
PUBLIC_PREFIXES = ("/static/", "/api/", "/healthz", "/i18n/")


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if not request.user.is_authenticated and path != settings.LOGIN_URL and not path.startswith(PUBLIC_PREFIXES):
            return redirect(f"{settings.LOGIN_URL}?next={path}")
        return self.get_response(request)
