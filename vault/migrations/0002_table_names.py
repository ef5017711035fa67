from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('vault', '0001_initial'),
    ]

    operations = [
        migrations.AlterModelTable(name='keyrotation', table=None),
        migrations.AlterModelTable(name='datakey', table=None),
    ]
