import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def make_embedded_broker_folders(sender, **kwargs):
    """The filesystem broker's folders, made when Celery first loads its
    configuration (a worker starts, a task is sent), never on import."""
    from django.conf import settings

    for folder in settings.EMBEDDED_BROKER_FOLDERS:
        folder.mkdir(parents=True, exist_ok=True)
