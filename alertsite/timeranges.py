"""The "Time range" choices every console list and admin filter offers.

"Last 15 days" is the vendor's own range: its deep links into the Directory Insights log open it
pre-filtered to the last 15 days (spec 1.8).
"""

from __future__ import annotations

from datetime import timedelta

TIME_RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "15d": timedelta(days=15),
    "30d": timedelta(days=30),
}
TIME_RANGE_CHOICES = [
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("15d", "Last 15 days"),
    ("30d", "Last 30 days"),
]
