"""Print a new random key (32 bytes, url-safe base64) for FIELD_ENCRYPTION_KEYS or BLIND_INDEX_KEY.

Needs no configuration, unlike `manage.py generate_field_key` (which loads the settings, and so
needs keys already): `python scripts/generate_key.py`.
"""

import base64
import secrets

print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii"))
