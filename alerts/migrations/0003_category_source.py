"""Alerts get a category and a source (spec 5.1): the fields. 0004 fills existing rows."""

from django.db import migrations, models

class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0002_search_trigram_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="category",
            field=models.CharField(
                blank=True,
                choices=[
                    ("directory", "Directory"),
                    ("sso", "SSO"),
                    ("radius", "RADIUS"),
                    ("ldap", "LDAP"),
                    ("devices", "Devices"),
                    ("mdm", "MDM"),
                    ("password_manager", "Password Manager"),
                    ("software", "Software"),
                    ("object_storage", "Object Storage"),
                    ("saas_management", "SaaS Management"),
                    ("access_management", "Access Management"),
                    ("alerts", "Alerts"),
                    ("other", "Other"),
                ],
                default="",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="source_id",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AddField(
            model_name="alert",
            name="source_type",
            field=models.CharField(
                blank=True, choices=[("user", "User"), ("device", "Device")], default="", max_length=10
            ),
        ),
    ]
