"""Write .env.dev with fresh development secrets, once per secret: a secret already in the file is
kept, a missing one (added by a newer version) is appended. Never used in production (DEBUG decides)."""

from __future__ import annotations

import base64
import secrets
import sys
from pathlib import Path


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env.dev")
wanted = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": _key(),
    "BLIND_INDEX_KEY": _key(),
    "AUDIT_KEY": _key(),
}
text = (
    path.read_text()
    if path.exists()
    else "# Development secrets written by `make`, read only with DEBUG=1 or CONFIDANT_DEV_ENV=1.\n"
)
present = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")}
missing = [name for name in wanted if name not in present]
if not missing:
    sys.exit(0)
if not text.endswith("\n"):
    text += "\n"
path.write_text(text + "".join(f"{name}={wanted[name]}\n" for name in missing))
path.chmod(0o600)
print(f"wrote development secrets to {path}: {', '.join(missing)}")
