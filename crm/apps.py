from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM core"

    def ready(self):
        from celery.signals import worker_ready
        from django.db.backends.signals import connection_created

        from . import openapi  # noqa: F401  registers the x-access-token scheme
        from .db import use_c_timestamp_parser
        from .logs import connect_celery_signals
        from .metrics import instrument_connection, start_worker_server

        connection_created.connect(use_c_timestamp_parser, dispatch_uid="crm.db.use_c_timestamp_parser")
        connection_created.connect(instrument_connection, dispatch_uid="crm.metrics.instrument_connection")
        connect_celery_signals()
        worker_ready.connect(start_worker_server, dispatch_uid="crm.metrics.start_worker_server")
