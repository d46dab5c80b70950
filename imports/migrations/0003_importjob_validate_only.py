from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("imports", "0002_import_job_match_on")]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="validate_only",
            field=models.BooleanField(default=False, help_text="Validates the file, writes no contact"),
        ),
        migrations.AddField(
            model_name="importjob",
            name="result",
            field=models.JSONField(
                blank=True, help_text="A validate_only job's report (POST /imports/validate's)", null=True
            ),
        ),
    ]
