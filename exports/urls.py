from django.urls import path

from .views import ExportJobViewSet

urlpatterns = [
    path("exports", ExportJobViewSet.as_view({"get": "list", "post": "create"}), name="export-job-list"),
    path("exports/<int:pk>", ExportJobViewSet.as_view({"get": "retrieve"}), name="export-job-detail"),
    path("exports/<int:pk>/cancel", ExportJobViewSet.as_view({"post": "cancel"}), name="export-job-cancel"),
    path("exports/<int:pk>/download", ExportJobViewSet.as_view({"get": "download"}), name="export-job-download"),
]
