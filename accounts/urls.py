from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", views.home, name="home"),
    path("me/conversations/", views.my_conversations, name="my_conversations"),
    path("me/conversations/<str:conversation_id>/", views.my_conversation, name="my_conversation"),
]
