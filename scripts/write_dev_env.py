"""Write .env with fresh development secrets, once. Never used in production (DEBUG decides)."""

from __future__ import annotations

import base64
import secrets
import sys
from pathlib import Path

path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env.dev")
if path.exists():
    sys.exit(0)
path.write_text(
    "# Development secrets written by `make`, read only with DEBUG=1 or CONFIDANT_DEV_ENV=1.\n"
    f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"FIELD_ENCRYPTION_KEYS={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}\n"
)
path.chmod(0o600)
print(f"wrote development secrets to {path}")
