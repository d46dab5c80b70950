import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# What is loaded by now lives as long as the process: keep it out of the
# cyclic collector's full passes, whose pauses made the slow tail of big
# responses (multi-get of 1,000 contacts: p95 158 ms with, 66 ms without them).
gc.freeze()
