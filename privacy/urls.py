from django.urls import path

from .views import ContactDataViewSet, ErasureViewSet

urlpatterns = [
    path("contacts/<int:pk>/data", ContactDataViewSet.as_view({"get": "retrieve"}), name="contact-data"),
    path("privacy/erase", ErasureViewSet.as_view({"post": "create"}), name="privacy-erase"),
    path("privacy/erasures", ErasureViewSet.as_view({"get": "list"}), name="privacy-erasure-list"),
    path("privacy/erasures/<int:pk>", ErasureViewSet.as_view({"get": "retrieve"}), name="privacy-erasure-detail"),
]
