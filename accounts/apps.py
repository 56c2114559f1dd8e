from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    """Users, the four roles and their permissions, sign-in lockouts and personal API tokens."""

    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from accounts import receivers
        from accounts.api import schema  # noqa: F401 - registers the OpenAPI token scheme
        from accounts.roles import sync_roles_after_migrate

        # Permissions exist only after every app has migrated, so the role groups are
        # brought in line with the matrix then, on every `migrate`.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="accounts.sync_roles")
        receivers.connect()
