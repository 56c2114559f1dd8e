"""Carry the plain-text tokens of DRF's authtoken over as hashed, expiring personal tokens.

Each old key keeps working (knox hashes whatever string is presented), expires one token
lifetime after this migration, and its plain-text row is deleted. The `authtoken_token` table
is left empty (the app is no longer installed); `DROP TABLE authtoken_token;` removes it.
"""

import uuid

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings

OLD_TABLE = "authtoken_token"


def hash_plain_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {OLD_TABLE}")  # noqa: S608
        rows = cursor.fetchall()
        ApiToken.objects.bulk_create(
            ApiToken(
                digest=hash_token(key),
                token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=expiry,
                public_id=uuid.uuid4(),
                name="Issued before tokens expired",
            )
            for key, user_id in rows
        )
        cursor.execute(f"DELETE FROM {OLD_TABLE}")  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_api_token"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(hash_plain_tokens, migrations.RunPython.noop)]
