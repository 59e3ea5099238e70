"""The board takes over its tables as they are (sdr_desk_boardevent, sdr_desk_boardpreference)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


BOARD_MODELS = ["boardevent", "boardpreference"]


def content_types_move(apps, schema_editor, *, old: str = "sdr_desk", new: str = "board") -> None:
    """Move the models' content types, so permissions, role groups and admin history stay attached."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in BOARD_MODELS:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_back(apps, schema_editor) -> None:
    content_types_move(apps, schema_editor, old="board", new="sdr_desk")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('sdr_desk', '0005_next_step_and_board_preference'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('inbound', '0003_bulk_json_fields'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them moves.
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='BoardPreference',
                fields=[
                    ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='board_preference', serialize=False, to=settings.AUTH_USER_MODEL)),
                    ('sound', models.BooleanField(default=False, help_text='play a sound when a new hot lead arrives')),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                ],
                options={
                    'db_table': 'sdr_desk_boardpreference',
                },
            ),
            migrations.CreateModel(
                name='BoardEvent',
                fields=[
                    ('id', models.BigAutoField(primary_key=True, serialize=False)),
                    ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('lead', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='inbound.lead')),
                ],
                options={
                    'db_table': 'sdr_desk_boardevent',
                    'indexes': [models.Index(fields=['created_at'], name='boardevent_created_idx')],
                },
            ),
        ]),
        migrations.RunPython(content_types_move, content_types_back),
    ]
