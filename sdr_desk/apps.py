from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SdrDeskConfig(AppConfig):
    """The project: settings, roles, the schedules every app declares, and the demo commands."""

    name = "sdr_desk"
    verbose_name = "SDR desk"
    # Where each role starts until an app gives it a page of its own (sdr_desk/homes.py): role -> (URL name,
    # priority). The lead list is the page every role may open; the board app takes SDRs and managers over.
    role_homes = {"AE": ("lead-list", 0), "Marketing": ("lead-list", 0), "Admin": ("lead-list", 0)}

    def ready(self) -> None:
        from sdr_desk.roles import roles_sync
        from sdr_desk.schedules import schedules_sync

        post_migrate.connect(roles_sync, sender=self, dispatch_uid="sdr_desk.roles_sync")
        post_migrate.connect(schedules_sync, sender=self, dispatch_uid="sdr_desk.schedules_sync")
