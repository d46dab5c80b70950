from django.urls import path

from . import views

contacts = views.ContactViewSet.as_view
custom_fields = views.CustomFieldViewSet.as_view
saved_views = views.ContactViewViewSet.as_view

# Fixed paths before /contacts/{id}; labels are routed by the labels app.
urlpatterns = [
    path("contacts/custom-fields", custom_fields({"get": "list", "post": "create"}), name="contact-custom-field-list"),
    path(
        "contacts/custom-fields/<int:pk>",
        custom_fields({"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}),
        name="contact-custom-field-detail",
    ),
    path("contacts/views", saved_views({"get": "list", "post": "create"}), name="contact-view-list"),
    path(
        "contacts/views/<int:pk>",
        saved_views({"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}),
        name="contact-view-detail",
    ),
    path(
        "contacts",
        contacts({"get": "list", "post": "create", "patch": "bulk_update"}),
        name="contact-list",
    ),
    # A bare array: no pagination or filters (also for the OpenAPI schema).
    path(
        "contacts/multiple",
        contacts({"post": "multiple"}, pagination_class=None, filter_backends=[]),
        name="contact-multiple",
    ),
    path(
        "contacts/search",
        contacts({"post": "search"}, pagination_class=None, filter_backends=[]),
        name="contact-search",
    ),
    path("contacts/batch", contacts({"post": "batch"}, pagination_class=None, filter_backends=[]),
         name="contact-batch"),
    path("contacts/duplicates", contacts({"get": "duplicate_groups"}, pagination_class=None, filter_backends=[]),
         name="contact-duplicate-groups"),
    path("contacts/upsert", contacts({"put": "upsert"}), name="contact-upsert"),
    path(
        "contacts/<int:pk>",
        contacts({"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}),
        name="contact-detail",
    ),
    path("contacts/<int:pk>/duplicates", contacts({"get": "duplicates"}, pagination_class=None, filter_backends=[]),
         name="contact-duplicates"),
    path("contacts/<int:pk>/merge", contacts({"post": "merge"}), name="contact-merge"),
    path("contacts/<int:pk>/restore", contacts({"post": "restore"}), name="contact-restore"),
    path("contacts/<int:pk>/history", views.ContactHistoryViewSet.as_view({"get": "list"}), name="contact-history"),
]
