from django.apps import AppConfig


class LabelsConfig(AppConfig):
    name = "labels"

    def ready(self):
        from crm.signals import workspace_created

        from . import services

        def create_default_labels(sender, workspace, **kwargs):
            services.labels_create_defaults(workspace=workspace)

        workspace_created.connect(create_default_labels, weak=False, dispatch_uid="labels.create_defaults")
