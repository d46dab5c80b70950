from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM core"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import openapi  # noqa: F401  registers the x-access-token scheme
        from .db import use_c_timestamp_parser

        connection_created.connect(use_c_timestamp_parser, dispatch_uid="crm.db.use_c_timestamp_parser")
