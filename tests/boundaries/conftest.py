"""The webhook fixtures of the channels tests, for the boundary tests."""

from tests.channels.conftest import make_webhook, receiver  # noqa: F401 - fixtures used here
