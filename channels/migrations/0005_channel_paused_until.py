from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0004_delivery_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="channel",
            name="paused_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
