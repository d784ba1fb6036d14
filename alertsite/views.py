"""Console pages that belong to no single app: Home (the 7-day sparkline, the Open Alerts widget), the bell fragment, /favicon.ico."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from alerts.metrics_charts import per_day_chart
from alerts.models import Alert
from alerts.selectors import alert_summary, alerts_awake
from alerts.services.metrics_snapshots import alert_metrics_current
from alertsite.console import open_alert_count, readers_only


@readers_only
def home(request):
    newest = (
        alerts_awake(Alert.objects.filter(status="open"))
        .order_by("-created_at", "-id")
        .only("pk", "title", "priority", "status", "created_at", "rule_name")[:5]
    )
    week, _ = alert_metrics_current(7)  # the sparkline: the 7-day Alert Metrics snapshot, one query
    context = {
        "nav": "home",
        "summary": alert_summary(),
        "newest": newest,
        "week": week,
        "sparkline": per_day_chart(week.per_day, sparkline=True),
    }
    return render(request, "console/home.html", context)


@readers_only
def bell(request):
    """The bell alone, polled by htmx every few seconds: one indexed COUNT."""
    return render(request, "console/partials/bell.html", {"bell_count": open_alert_count()})


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page's <link rel="icon"> says (and the admin, the API
    docs and plain JSON answers have none): send them to the console's SVG icon, no sign-in needed."""
    return redirect(static("console/favicon.svg"))
