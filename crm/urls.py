from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("tokens", views.TokenViewSet, basename="token")

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    path("users", views.UsersView.as_view(), name="users"),
    path("users/<int:pk>", views.UserDetailView.as_view(), name="user-detail"),
    *router.urls,
]
