import django.db.models.deletion
from django.db import migrations, models

from crm.migration_operations import drop_foreign_key_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0006_contact_organization_index"),
        ("tags", "0001_initial"),
    ]

    operations = [
        drop_foreign_key_indexes(
            "contacts_contacttag",
            {"contacts_contacttag_contact_id_7419fc13": "contact_id", "contacts_contacttag_tag_id_5d4815b8": "tag_id"},
            [
                migrations.AlterField(
                    model_name="contacttag",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, to="contacts.contact"
                    ),
                ),
                migrations.AlterField(
                    model_name="contacttag",
                    name="tag",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, to="tags.tag"),
                ),
            ],
        )
    ]
