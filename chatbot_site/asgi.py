"""HTTP and WebSocket routing.

HTTP goes through Django's own ASGI handler. WebSockets pass the Origin check (scheme, host and
port: chatbot_site.origins), then the session and user are read from the cookie; each consumer still authorizes in connect().
"""

from __future__ import annotations

import os
import warnings

from django.core.asgi import get_asgi_application

# WhiteNoise serves static files through synchronous iterators, which Django's ASGI handler warns
# about on every file; the files are small and served from memory-mapped disk, so it is harmless.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware, get_user  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from chatbot_site.origins import SameOriginValidator  # noqa: E402
from chatbot_site.realtime import db_call  # noqa: E402
from conversations.routing import websocket_urlpatterns  # noqa: E402


class ConcurrentAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware, reading the session and user on the pool of database threads
    (chatbot_site.realtime.db_call) rather than on the one thread that every socket's handshake
    would otherwise queue on."""

    async def resolve_scope(self, scope: dict) -> None:
        scope["user"]._wrapped = await db_call(get_user.func, scope)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(
            CookieMiddleware(SessionMiddleware(ConcurrentAuthMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)
