from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("integrations", views.IntegrationViewSet, basename="integration")
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register("messages", views.MessageViewSet, basename="message")

conversation_messages = views.ConversationMessageViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    path(
        "integrations/<int:pk>/status",
        views.IntegrationStatusView.as_view(),
        name="integration-status",
    ),
    path(
        "integrations/<int:pk>/inbound",
        views.IntegrationInboundView.as_view(),
        name="integration-inbound",
    ),
    path(
        "conversations/<int:conversation_id>/messages",
        conversation_messages,
        name="conversation-messages",
    ),
    path("notifications", views.NotificationView.as_view(), name="notifications"),
    *router.urls,
]
