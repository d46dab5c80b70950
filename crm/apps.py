from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM core"

    def ready(self):
        from . import openapi  # noqa: F401  registers the x-access-token scheme
