"""Users are Django's and roles are Django groups (see roles.py); accounts keep only failed logins."""

from __future__ import annotations

from django.db import models


class LoginScope(models.TextChoices):
    """What a login lock is on."""

    USERNAME = "username", "Username"
    ADDRESS = "address", "Address"


class LoginFailure(models.Model):
    """One failed password check, counted against its username and against its address.

    Rows live in the database because every web and worker process must see the same counts
    (the embedded default has no shared cache). Rows older than the window and the cool-off are
    pruned as new failures are written. Deleting a username's rows unlocks it, and takes those
    failures out of their addresses' counts too (so a user who locked out their own address is
    free again after one unlock).
    """

    username = models.CharField(max_length=255, blank=True, help_text="As counted: case-folded.")
    address = models.CharField(max_length=64, blank=True, help_text="As counted: IPv6 by its /64.")
    failed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["username", "-failed_at"], name="login_failure_user_idx"),
            models.Index(fields=["address", "-failed_at"], name="login_failure_addr_idx"),
            models.Index(fields=["failed_at"], name="login_failure_time_idx"),
        ]
        verbose_name = "failed login"

    def __str__(self) -> str:
        return f"{self.username or '-'} from {self.address or '-'} at {self.failed_at:%Y-%m-%d %H:%M:%S}"
