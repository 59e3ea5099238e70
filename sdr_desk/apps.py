from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SdrDeskConfig(AppConfig):
    """The project: settings, roles, the schedules every app declares, and the demo commands."""

    name = "sdr_desk"
    verbose_name = "SDR desk"

    def ready(self) -> None:
        from sdr_desk.roles import roles_sync
        from sdr_desk.schedules import schedules_sync

        post_migrate.connect(roles_sync, sender=self, dispatch_uid="sdr_desk.roles_sync")
        post_migrate.connect(schedules_sync, sender=self, dispatch_uid="sdr_desk.schedules_sync")
