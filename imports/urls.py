from django.urls import path

from .views import ImportFileViewSet, ImportJobViewSet

FILE_NAME = "<str:file_name>"

urlpatterns = [
    path("imports/files", ImportFileViewSet.as_view({"get": "list", "post": "create"}), name="import-file-list"),
    path(f"imports/files/{FILE_NAME}", ImportFileViewSet.as_view({"delete": "destroy"}), name="import-file-detail"),
    path("imports/validate", ImportJobViewSet.as_view({"post": "validate"}), name="import-validate"),
    path("imports", ImportJobViewSet.as_view({"get": "list", "post": "create"}), name="import-job-list"),
    path("imports/<int:pk>", ImportJobViewSet.as_view({"get": "retrieve"}), name="import-job-detail"),
    path("imports/<int:pk>/cancel", ImportJobViewSet.as_view({"post": "cancel"}), name="import-job-cancel"),
    path("imports/<int:pk>/errors.csv", ImportJobViewSet.as_view({"get": "errors_csv"}), name="import-job-errors"),
]
