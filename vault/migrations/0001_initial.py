# The data keys and key rotations moved here from the privacy app (privacy 0005 drops them from its
# state). Their tables already exist, created in the keys database by privacy 0001: this migration
# only takes them over, and 0002 gives them this app's table names.

import django.db.models.deletion
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('privacy', '0004_confirmation_claim'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='KeyRotation',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('started_at', models.DateTimeField()),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('holder', models.CharField(blank=True, max_length=32)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('unfinished', models.BooleanField(default=True, null=True)),
                    ],
                    options={
                        'db_table': 'privacy_keyrotation',
                        'constraints': [models.UniqueConstraint(fields=('unfinished',), name='one_unfinished_key_rotation')],
                    },
                ),
                migrations.CreateModel(
                    name='DataKey',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('wrapped', models.BinaryField()),
                        ('master_key_id', models.CharField(db_index=True, max_length=16)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('retired_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='vault.keyrotation')),
                        ('rotation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='vault.keyrotation')),
                    ],
                    options={
                        'db_table': 'privacy_datakey',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
