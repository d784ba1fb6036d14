from __future__ import annotations

import pytest

from alertsite.accounts.roles import Role, user_role

pytestmark = pytest.mark.django_db


def test_user_changelist_shows_roles_and_filters_by_role(client, admin_user, make_user):
    make_user("responder", username="rita")
    make_user("viewer", username="vic")
    client.force_login(admin_user)

    response = client.get("/admin/auth/user/", {"role": "responder"})

    assert response.status_code == 200
    assert [user.username for user in response.context["cl"].result_list] == ["rita"]
    assert '<td class="field-role">Responder</td>' in response.content.decode()


def test_set_role_action_changes_the_role(client, admin_user, make_user):
    user = make_user("viewer")
    client.force_login(admin_user)

    response = client.post(
        "/admin/auth/user/", {"action": "set_role_responder", "_selected_action": [user.pk]}, follow=True
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user_role(user) == Role.RESPONDER
