from django.db import migrations
from django.utils import timezone

# A copy of labels.services.DEFAULT_LABELS: migrations must not import code
# that may change later.
DEFAULT_LABELS = (
    {"name": "No label", "color": "", "icon": "", "is_default": True},
    {"name": "Cold lead", "color": "blue", "icon": "ac_unit"},
    {"name": "Warm lead", "color": "orange", "icon": "brightness_low"},
    {"name": "Hot lead", "color": "deep-orange", "icon": "whatshot"},
)


def create_default_labels(apps, schema_editor):
    Workspace = apps.get_model("crm", "Workspace")
    ContactLabel = apps.get_model("labels", "ContactLabel")
    now = timezone.now()
    for workspace_id in Workspace.objects.values_list("id", flat=True).iterator():
        ContactLabel.objects.bulk_create(
            [ContactLabel(workspace_id=workspace_id, created_at=now, updated_at=now, **spec) for spec in DEFAULT_LABELS],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("labels", "0001_initial"),
        ("crm", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_default_labels, migrations.RunPython.noop)]
