import django.db.models.deletion
from django.db import migrations, models

from crm.migration_operations import drop_foreign_key_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("tags", "0001_initial"),
    ]

    operations = [
        drop_foreign_key_indexes(
            "messaging_message",
            {"messaging_message_conversation_id_3db4d3d1": "conversation_id"},
            [
                migrations.AlterField(
                    model_name="message",
                    name="conversation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="messaging.conversation",
                    ),
                ),
            ],
        ),
        drop_foreign_key_indexes(
            "messaging_messagetag",
            {"messaging_messagetag_message_id_ae3d2fb8": "message_id", "messaging_messagetag_tag_id_e59df5c2": "tag_id"},
            [
                migrations.AlterField(
                    model_name="messagetag",
                    name="message",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, to="messaging.message"
                    ),
                ),
                migrations.AlterField(
                    model_name="messagetag",
                    name="tag",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, to="tags.tag"),
                ),
            ],
        ),
    ]
