"""Routing takes over the desk's tables as they are (they keep their sdr_desk_* names and every row)."""

import django.db.models.deletion
import django.utils.timezone
import sdr_desk.routing.models
from django.conf import settings
from django.db import migrations, models


ROUTING_MODELS = ["team", "teamholiday", "rep", "routingrule", "accountowner", "leadassignment", "touch"]


def content_types_move(apps, schema_editor, *, old: str = "sdr_desk", new: str = "routing") -> None:
    """Move the models' content types, so permissions, role groups and admin history stay attached."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ROUTING_MODELS:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_back(apps, schema_editor) -> None:
    content_types_move(apps, schema_editor, old="routing", new="sdr_desk")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('sdr_desk', '0005_next_step_and_board_preference'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('inbound', '0003_bulk_json_fields'),
        ('scoring', '0002_bulk_json_fields'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them moves.
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='AccountOwner',
                fields=[
                    ('account', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='desk_owner', serialize=False, to='inbound.account')),
                    ('since', models.DateTimeField(default=django.utils.timezone.now)),
                    ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='owned_accounts', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'sdr_desk_accountowner',
                },
            ),
            migrations.CreateModel(
                name='Team',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=100, unique=True)),
                    ('is_default', models.BooleanField(default=False, help_text='where leads go when no routing rule matches')),
                    ('visibility', models.CharField(choices=[('claim', 'Claim: every eligible rep sees an unclaimed hot lead, first claim wins'), ('owned', 'Owned: the lead is assigned and only its owner sees it')], default='claim', max_length=10)),
                    ('time_zone', models.CharField(default='UTC', max_length=64)),
                    ('business_hours', models.JSONField(default=sdr_desk.routing.models.default_hours, help_text='{"mon": [["09:00", "17:00"]], ...}')),
                    ('after_hours', models.CharField(choices=[('next_opening', 'Start the clock at the next opening'), ('follow_the_sun', 'Hand the lead to the follow-the-sun team')], default='next_opening', max_length=20)),
                    ('sla_hand_raiser_seconds', models.PositiveIntegerField(blank=True, default=300, null=True)),
                    ('sla_researcher_seconds', models.PositiveIntegerField(blank=True, default=86400, null=True)),
                    ('sla_light_seconds', models.PositiveIntegerField(blank=True, default=None, null=True)),
                    ('warn_fraction', models.FloatField(default=0.6, help_text='warn when this share of the SLA has passed')),
                    ('escalation_path', models.CharField(choices=[('backup_then_manager', 'Backup rep, then the manager queue'), ('manager', 'Straight to the manager queue')], default='backup_then_manager', max_length=30)),
                    ('claim_touch_minutes', models.PositiveIntegerField(default=3, help_text='a claimed lead left untouched this long returns to the board')),
                    ('escalation_streak_limit', models.PositiveIntegerField(default=3, help_text='a rep who lets this many leads escalate in a row is set to away')),
                    ('backup_rep', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='backup_for_teams', to=settings.AUTH_USER_MODEL)),
                    ('follow_the_sun_team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='routing.team')),
                    ('hot_criteria', models.ForeignKey(blank=True, help_text='when a lead is hot for this team; empty: the default criteria', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='teams', to='scoring.hotleadcriteria')),
                    ('manager', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='managed_teams', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'sdr_desk_team',
                    'ordering': ['name'],
                },
            ),
            migrations.CreateModel(
                name='RoutingRule',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=100)),
                    ('position', models.PositiveIntegerField(default=0)),
                    ('is_active', models.BooleanField(default=True)),
                    ('countries', models.JSONField(blank=True, default=list, help_text='ISO codes or regions (NA, EMEA, DACH...)')),
                    ('states', models.JSONField(blank=True, default=list)),
                    ('industries', models.JSONField(blank=True, default=list)),
                    ('employee_min', models.PositiveIntegerField(blank=True, null=True)),
                    ('employee_max', models.PositiveIntegerField(blank=True, null=True)),
                    ('form_types', models.JSONField(blank=True, default=list)),
                    ('tiers', models.JSONField(blank=True, default=list)),
                    ('grades', models.JSONField(blank=True, default=list)),
                    ('sources', models.ManyToManyField(blank=True, related_name='+', to='inbound.source')),
                    ('target_rep', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('target_team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='routing.team')),
                ],
                options={
                    'db_table': 'sdr_desk_routingrule',
                    'ordering': ['position', 'id'],
                },
            ),
            migrations.CreateModel(
                name='Rep',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('role', models.CharField(choices=[('sdr', 'SDR'), ('ae', 'AE'), ('manager', 'Manager')], default='sdr', max_length=10)),
                    ('time_zone', models.CharField(default='UTC', max_length=64)),
                    ('working_hours', models.JSONField(default=sdr_desk.routing.models.default_hours)),
                    ('status', models.CharField(choices=[('available', 'Available'), ('away', 'Away'), ('offline', 'Offline')], default='available', max_length=10)),
                    ('capacity', models.PositiveIntegerField(default=5, help_text='open hot leads at once')),
                    ('weight', models.PositiveIntegerField(default=1, help_text='share of round-robin leads, relative to teammates')),
                    ('routed_count', models.PositiveIntegerField(default=0)),
                    ('last_routed_at', models.DateTimeField(blank=True, null=True)),
                    ('escalation_streak', models.PositiveIntegerField(default=0)),
                    ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='rep', to=settings.AUTH_USER_MODEL)),
                    ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reps', to='routing.team')),
                ],
                options={
                    'db_table': 'sdr_desk_rep',
                    'ordering': ['user__username'],
                },
            ),
            migrations.CreateModel(
                name='LeadAssignment',
                fields=[
                    ('lead', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='assignment', serialize=False, to='inbound.lead')),
                    ('state', models.CharField(choices=[('queued', 'In the team queue'), ('offered', 'Offered to the team'), ('assigned', 'Assigned'), ('working', 'Working'), ('escalated', 'In the manager queue'), ('closed', 'Closed')], default='queued', max_length=10)),
                    ('is_hot', models.BooleanField(default=False)),
                    ('tier', models.CharField(default='none', max_length=20)),
                    ('routing_trace', models.JSONField(blank=True, default=dict)),
                    ('routed_at', models.DateTimeField(blank=True, null=True)),
                    ('owned_since', models.DateTimeField(blank=True, null=True)),
                    ('claim_expires_at', models.DateTimeField(blank=True, help_text='a claim not followed by a touch by then returns to the board', null=True)),
                    ('sla_started_at', models.DateTimeField(blank=True, null=True)),
                    ('sla_due_at', models.DateTimeField(blank=True, null=True)),
                    ('sla_warn_at', models.DateTimeField(blank=True, null=True)),
                    ('sla_warned', models.BooleanField(default=False)),
                    ('first_touch_at', models.DateTimeField(blank=True, null=True)),
                    ('response_seconds', models.FloatField(blank=True, null=True)),
                    ('response_business_seconds', models.FloatField(blank=True, null=True)),
                    ('escalation_level', models.PositiveSmallIntegerField(default=0)),
                    ('next_step_at', models.DateTimeField(blank=True, null=True)),
                    ('next_step', models.CharField(blank=True, max_length=200)),
                    ('version', models.PositiveIntegerField(default=0)),
                    ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_leads', to=settings.AUTH_USER_MODEL)),
                    ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assignments', to='routing.team')),
                ],
                options={
                    'db_table': 'sdr_desk_leadassignment',
                },
            ),
            migrations.CreateModel(
                name='TeamHoliday',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('date', models.DateField()),
                    ('name', models.CharField(blank=True, max_length=100)),
                    ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='holidays', to='routing.team')),
                ],
                options={
                    'db_table': 'sdr_desk_teamholiday',
                    'ordering': ['date'],
                },
            ),
            migrations.CreateModel(
                name='Touch',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('channel', models.CharField(choices=[('call', 'Call'), ('email', 'Email'), ('sms', 'SMS'), ('linkedin', 'LinkedIn')], max_length=10)),
                    ('outcome', models.CharField(blank=True, choices=[('connected', 'Connected'), ('voicemail', 'Voicemail'), ('no_answer', 'No answer'), ('wrong_number', 'Wrong number')], max_length=15)),
                    ('notes', models.TextField(blank=True, max_length=5000)),
                    ('occurred_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('is_first', models.BooleanField(default=False)),
                    ('lead', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='touches', to='inbound.lead')),
                    ('rep', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='touches', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'db_table': 'sdr_desk_touch',
                    'ordering': ['-occurred_at', '-id'],
                },
            ),
            migrations.AddConstraint(
                model_name='team',
                constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='one_default_team'),
            ),
            migrations.AddIndex(
                model_name='leadassignment',
                index=models.Index(condition=models.Q(('first_touch_at__isnull', True), ('sla_due_at__isnull', False)), fields=['sla_due_at'], name='assignment_due_idx'),
            ),
            migrations.AddIndex(
                model_name='leadassignment',
                index=models.Index(condition=models.Q(('first_touch_at__isnull', True), ('sla_warn_at__isnull', False), ('sla_warned', False)), fields=['sla_warn_at'], name='assignment_warn_idx'),
            ),
            migrations.AddIndex(
                model_name='leadassignment',
                index=models.Index(fields=['team', 'state'], name='assignment_team_state_idx'),
            ),
            migrations.AddIndex(
                model_name='leadassignment',
                index=models.Index(fields=['owner', 'state'], name='assignment_owner_state_idx'),
            ),
            migrations.AddIndex(
                model_name='leadassignment',
                index=models.Index(fields=['updated_at'], name='assignment_updated_idx'),
            ),
            migrations.AddIndex(
                model_name='leadassignment',
                index=models.Index(condition=models.Q(('claim_expires_at__isnull', False), ('first_touch_at__isnull', True)), fields=['claim_expires_at'], name='assignment_claim_idx'),
            ),
            migrations.AddIndex(
                model_name='leadassignment',
                index=models.Index(condition=models.Q(('next_step_at__isnull', False)), fields=['owner', 'next_step_at'], name='assignment_next_step_idx'),
            ),
            migrations.AddConstraint(
                model_name='teamholiday',
                constraint=models.UniqueConstraint(fields=('team', 'date'), name='teamholiday_unique'),
            ),
            migrations.AddIndex(
                model_name='touch',
                index=models.Index(fields=['lead', '-occurred_at'], name='touch_lead_idx'),
            ),
            migrations.AddIndex(
                model_name='touch',
                index=models.Index(fields=['rep', '-occurred_at'], name='touch_rep_idx'),
            ),
        ]),
        migrations.RunPython(content_types_move, content_types_back),
    ]
