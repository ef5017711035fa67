"""Where an export's archive is kept, encrypted under its request's data key, until downloaded."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from privacy.models import DataRequest


def export_path(request: DataRequest) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / f"{request.pk}.bin"
