"""The desk's models now belong to its apps (routing, board); the tables and their rows stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0001_initial'),
        ('board', '0001_initial'),
        ('sdr_desk', '0005_next_step_and_board_preference'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them moves.
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='boardevent',
                name='lead',
            ),
            migrations.RemoveField(
                model_name='boardpreference',
                name='user',
            ),
            migrations.RemoveField(
                model_name='leadassignment',
                name='lead',
            ),
            migrations.RemoveField(
                model_name='leadassignment',
                name='owner',
            ),
            migrations.RemoveField(
                model_name='leadassignment',
                name='team',
            ),
            migrations.RemoveField(
                model_name='rep',
                name='team',
            ),
            migrations.RemoveField(
                model_name='rep',
                name='user',
            ),
            migrations.RemoveField(
                model_name='routingrule',
                name='sources',
            ),
            migrations.RemoveField(
                model_name='routingrule',
                name='target_rep',
            ),
            migrations.RemoveField(
                model_name='routingrule',
                name='target_team',
            ),
            migrations.RemoveField(
                model_name='team',
                name='backup_rep',
            ),
            migrations.RemoveField(
                model_name='team',
                name='follow_the_sun_team',
            ),
            migrations.RemoveField(
                model_name='team',
                name='hot_criteria',
            ),
            migrations.RemoveField(
                model_name='team',
                name='manager',
            ),
            migrations.RemoveField(
                model_name='teamholiday',
                name='team',
            ),
            migrations.RemoveField(
                model_name='touch',
                name='lead',
            ),
            migrations.RemoveField(
                model_name='touch',
                name='rep',
            ),
            migrations.DeleteModel(
                name='AccountOwner',
            ),
            migrations.DeleteModel(
                name='BoardEvent',
            ),
            migrations.DeleteModel(
                name='BoardPreference',
            ),
            migrations.DeleteModel(
                name='LeadAssignment',
            ),
            migrations.DeleteModel(
                name='Rep',
            ),
            migrations.DeleteModel(
                name='RoutingRule',
            ),
            migrations.DeleteModel(
                name='Team',
            ),
            migrations.DeleteModel(
                name='TeamHoliday',
            ),
            migrations.DeleteModel(
                name='Touch',
            ),
        ]),
    ]
