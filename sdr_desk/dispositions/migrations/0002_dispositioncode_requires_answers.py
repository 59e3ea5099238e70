from django.db import migrations, models

DEFAULT_QUALIFIED = ["qualified-meeting-set", "qualified-handed-to-ae"]


def qualified_codes_require_answers(apps, schema_editor):
    # The desk's own qualified codes now wait for the checklist's required answers, as new desks' do.
    apps.get_model("dispositions", "DispositionCode").objects.filter(slug__in=DEFAULT_QUALIFIED).update(
        requires_answers=True)


class Migration(migrations.Migration):

    dependencies = [
        ("dispositions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="dispositioncode",
            name="requires_answers",
            field=models.BooleanField(default=False, help_text="refused until the required items of the team's "
                                                               "qualification checklist are answered"),
        ),
        migrations.RunPython(qualified_codes_require_answers, migrations.RunPython.noop),
    ]
