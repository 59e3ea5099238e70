from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from inbound.models import ApiKey, Channel, Source


class Command(BaseCommand):
    help = "Create an API key for a source (creating the source if needed). The key is the last line printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="the source's name")
        parser.add_argument("--channel", choices=Channel.values, default=Channel.OTHER,
                            help="the channel of a new source")
        parser.add_argument("--name", default="", help="a label for the key, e.g. 'website form handler'")

    @transaction.atomic
    def handle(self, *args: Any, source: str, channel: str, name: str, **options: Any) -> None:
        name_clean = source.strip()
        if not name_clean:
            from django.core.management.base import CommandError

            raise CommandError("The source name may not be blank.")
        source_obj, created = Source.objects.get_or_create(name=name_clean, defaults={"channel": channel})
        _, raw = ApiKey.generate(source=source_obj, name=name)
        if created:
            self.stderr.write(f"Created source {source_obj.name!r} ({source_obj.get_channel_display()}).")
        self.stderr.write("Store this key now: only its hash is kept.")
        self.stdout.write(raw)
