from django.urls import path

from .views import ContactLabelViewSet

# Included before contacts.urls so these win over /contacts/{id}.
urlpatterns = [
    path("contacts/labels", ContactLabelViewSet.as_view({"get": "list", "post": "create"}), name="contact-label-list"),
    path(
        "contacts/labels/<int:pk>",
        ContactLabelViewSet.as_view(
            {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
        ),
        name="contact-label-detail",
    ),
]
