from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def builtin_templates_ensure(sender: AppConfig, **kwargs) -> None:
    """After every migrate (and every test flush): the built-in templates as the code defines them.

    The data migration loads them once; this carries later edits of rules.templates_catalog
    to existing installs without a migration per change. Admins' own templates are untouched.
    """
    from rules.templates_catalog import builtin_templates_sync

    state = kwargs.get("apps")
    try:
        model = state.get_model("rules", "RuleTemplate") if state is not None else None
    except LookupError:  # migrated back before the table existed: nothing to keep current
        return
    if model is None:
        from rules.models import RuleTemplate as model
    builtin_templates_sync(model)


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = "Rules"

    def ready(self) -> None:
        from channels.hooks import channel_users_register
        from events.hooks import (
            evaluation_scope_register,
            in_transaction_evaluation_register,
            ingest_listener_register,
        )
        from rules.selectors import rule_names_using_channel, types_selected_by_rules
        from rules.tasks import evaluation_enqueue, evaluation_in_request

        post_migrate.connect(builtin_templates_ensure, sender=self, dispatch_uid="rules.builtin_templates_ensure")
        ingest_listener_register(evaluation_enqueue)
        evaluation_scope_register(types_selected_by_rules)
        in_transaction_evaluation_register(evaluation_in_request)
        channel_users_register(rule_names_using_channel)
