import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")

application = get_wsgi_application()

# With DEBUG off, no web server starts on a per-process cache or the file broker unless allowed.
from monitoring.checks import require_shared_services  # noqa: E402 - needs the app registry

require_shared_services()
