# DataKey and KeyRotation now belong to the vault app (vault 0001 takes over their tables): drop
# them from this app's state only, never from the database.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('privacy', '0004_confirmation_claim'),
        ('vault', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='DataKey'),
                migrations.DeleteModel(name='KeyRotation'),
            ],
            database_operations=[],
        ),
    ]
