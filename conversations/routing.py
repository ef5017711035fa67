from __future__ import annotations

from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/chat/", consumers.CustomerConsumer.as_asgi()),
    path("ws/agent/queue/", consumers.QueueConsumer.as_asgi()),
    path("ws/agent/conversations/<str:conversation_id>/", consumers.AgentConversationConsumer.as_asgi()),
]
