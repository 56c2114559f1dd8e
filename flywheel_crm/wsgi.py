"""WSGI entry point (gunicorn flywheel_crm.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flywheel_crm.settings.local")
application = get_wsgi_application()
