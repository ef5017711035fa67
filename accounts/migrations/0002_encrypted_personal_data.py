# Names and e-mail move to encrypted columns. The plaintext columns are dropped, not converted:
# nothing was released with them (development databases lose demo names; seed_demo restores them).

import vault.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='data_key_id',
            field=vault.fields.DataKeyField(),
        ),
        migrations.AddField(
            model_name='user',
            name='email_index',
            field=vault.fields.BlindIndexField(purpose='email', source='email', unique=True),
        ),
        migrations.RemoveField(model_name='user', name='email'),
        migrations.AddField(
            model_name='user',
            name='email',
            field=vault.fields.EncryptedEmailField(blank=True, editable=True, max_length=254, verbose_name='email address'),
        ),
        migrations.RemoveField(model_name='user', name='first_name'),
        migrations.AddField(
            model_name='user',
            name='first_name',
            field=vault.fields.EncryptedCharField(blank=True, editable=True, max_length=150, verbose_name='first name'),
        ),
        migrations.RemoveField(model_name='user', name='last_name'),
        migrations.AddField(
            model_name='user',
            name='last_name',
            field=vault.fields.EncryptedCharField(blank=True, editable=True, max_length=150, verbose_name='last name'),
        ),
    ]
