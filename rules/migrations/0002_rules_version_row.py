from django.db import migrations


def create_row(apps, schema_editor):
    apps.get_model("rules", "RulesVersion").objects.get_or_create(pk=1, defaults={"stamp": "initial"})


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_initial")]

    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
