from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # Registers the system checks and the Celery signal handlers.
        from monitoring import checks, signals  # noqa: F401
