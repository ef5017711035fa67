"""chatbot_site/settings.py, imported in a fresh process the way production and a fresh clone do."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import servers

KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
PRODUCTION = {
    "PATH": "/usr/bin:/bin",
    "DJANGO_SETTINGS_MODULE": "chatbot_site.settings",
    "SECRET_KEY": "s" * 10 + "ecret-key-that-is-long-enough-0123456789abcdefghij",
    "FIELD_ENCRYPTION_KEYS": KEY,
    "BLIND_INDEX_KEY": KEY,
    "AUDIT_KEY": base64.urlsafe_b64encode(bytes(range(64, 96))).decode(),
    "EMAIL_URL": "smtp+tls://mailer:pw@mail.example.com:587",
    "SITE_URL": "https://chat.example.com",
    "DEFAULT_FROM_EMAIL": "Bank privacy <privacy@bank.example>",
    "PRIVACY_CONTROLLER_NAME": "Example Bank plc",
    "PRIVACY_CONTROLLER_CONTACT": "1 Main Street, Example City · privacy@bank.example",
}


def _python(code: str, *, env: dict[str, str], cwd: Path = servers.ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def _proxy_options(env: dict[str, str]) -> subprocess.CompletedProcess:
    """What the Procfile's `$(python -m chatbot_site.proxies)` gives uvicorn under this environment."""
    return subprocess.run(
        [sys.executable, "-m", "chatbot_site.proxies"],
        env=env,
        cwd=servers.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """A copy of chatbot_site/ with no var/ beside it; the apps are imported from this tree."""
    shutil.copytree(
        servers.ROOT / "chatbot_site", tmp_path / "chatbot_site", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def _directories(root: Path) -> set[str]:
    return {
        str(path.relative_to(root)) for path in root.rglob("*") if path.is_dir() and "__pycache__" not in path.parts
    }


def test_importing_the_settings_makes_no_directory_and_the_broker_makes_its_own(fresh_clone: Path) -> None:
    before = _directories(fresh_clone)
    code = """
import json, warnings
import django
django.setup()
from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware
with warnings.catch_warnings():
    warnings.simplefilter("error")  # e.g. "No directory at: …/staticfiles/"
    WhiteNoiseMiddleware(lambda request: None)
mail = {name: getattr(settings, name) for name in (
    "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_USE_TLS", "EMAIL_USE_SSL")}
print(json.dumps({"base": str(settings.BASE_DIR), "mail": mail}))
"""
    env = {**PRODUCTION, "PYTHONPATH": f"{fresh_clone}:{servers.ROOT}"}  # no REDIS_URL: the file broker
    run = _python(code, env=env, cwd=fresh_clone)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["base"] == str(fresh_clone)
    assert _directories(fresh_clone) == before
    assert seen["mail"] == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }

    # A process that sends a task (or takes one) reads Celery's configuration: the folders appear then.
    code = "import django; django.setup(); from chatbot_site.celery import app; app.send_task('accounts.tasks.x')"
    run = _python(code, env=env, cwd=fresh_clone)
    assert run.returncode == 0, run.stderr
    queue = fresh_clone / "var" / "celery-broker"
    assert (queue / "control").is_dir() and [p for p in queue.iterdir() if p.is_file()]


@pytest.mark.parametrize(
    ("old", "new"), [("CELERY_QUEUE", "CELERY_TASK_DEFAULT_QUEUE"), ("CONFIDANT_PORT", "SITE_URL")]
)
def test_a_renamed_variable_is_refused_with_its_new_name(old: str, new: str) -> None:
    run = _python("import django; django.setup()", env={**PRODUCTION, old: "8123"})
    assert run.returncode != 0
    assert "ImproperlyConfigured" in run.stderr and f"{old} is no longer read" in run.stderr and new in run.stderr
    assert _python("import django; django.setup()", env=PRODUCTION).returncode == 0


def test_production_refuses_to_start_without_its_mail_settings() -> None:
    def starts(env: dict[str, str]) -> subprocess.CompletedProcess:
        return _python(
            "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_HOST)", env=env
        )

    ok = starts(PRODUCTION)
    assert ok.returncode == 0 and ok.stdout.strip() == "mail.example.com", ok.stderr
    for missing in ("EMAIL_URL", "SITE_URL", "DEFAULT_FROM_EMAIL"):
        run = starts({k: v for k, v in PRODUCTION.items() if k != missing})
        assert run.returncode != 0 and missing in run.stderr and "pw@" not in run.stderr, missing
    run = starts({**PRODUCTION, "SITE_URL": "http://chat.example.com"})
    assert run.returncode != 0 and "https://" in run.stderr


def test_production_refuses_to_start_without_the_controller_named_on_the_privacy_notice() -> None:
    code = "import django; django.setup(); from django.conf import settings; print(settings.PRIVACY_CONTROLLER_NAME)"
    ok = _python(code, env=PRODUCTION)
    assert ok.returncode == 0 and ok.stdout.strip() == "Example Bank plc", ok.stderr
    for missing in ("PRIVACY_CONTROLLER_NAME", "PRIVACY_CONTROLLER_CONTACT"):
        for env in ({k: v for k, v in PRODUCTION.items() if k != missing}, {**PRODUCTION, missing: "  "}):
            run = _python(code, env=env)
            assert run.returncode != 0 and "ImproperlyConfigured" in run.stderr and missing in run.stderr, missing


def test_the_notice_lists_are_read_from_the_environment_and_checked() -> None:
    code = (
        "import django; django.setup(); from django.conf import settings; import json; "
        "print(json.dumps([settings.PRIVACY_PURPOSES, settings.PRIVACY_PROCESSORS]))"
    )
    env = {
        **PRODUCTION,
        "PRIVACY_PURPOSES": "Answering you | Art. 6(1)(b) ; Security | Art. 6(1)(f);",
        "PRIVACY_PROCESSORS": "Cloud Ltd | hosting | the EU",
    }
    run = _python(code, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [
        [{"purpose": "Answering you", "basis": "Art. 6(1)(b)"}, {"purpose": "Security", "basis": "Art. 6(1)(f)"}],
        [{"who": "Cloud Ltd", "what": "hosting", "where": "the EU"}],
    ]
    defaults = json.loads(_python(code, env=PRODUCTION).stdout)
    assert len(defaults[0]) == 3 and defaults[1] == []  # Confidant's own purposes; no processor invented
    for bad in ({"PRIVACY_PURPOSES": "Answering you"}, {"PRIVACY_PROCESSORS": "Cloud Ltd | | the EU"}):
        run = _python(code, env={**PRODUCTION, **bad})
        assert run.returncode != 0 and next(iter(bad)) in run.stderr and "entry 1" in run.stderr, bad


def test_the_deploy_check_passes_under_production_settings(requires_redis: None) -> None:
    """`manage.py check --deploy --fail-level WARNING` as production runs it: PostgreSQL (the keys on
    another server), Redis; only silenced checks with their reasons in settings (W021: HSTS preload
    is the operator's opt-in; django_ratelimit.W001: Django's Redis cache is shared and atomic)."""
    env = {
        **PRODUCTION,
        "REDIS_URL": "redis://127.0.0.1:6379/5",
        "DATABASE_URL": "postgres://app@db.example:5432/confidant",
        "KEYS_DATABASE_URL": "postgres://app@keys.example:5432/confidant_keys",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=servers.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout
    # An operator who opts in to preloading gets the check back (and passes it).
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**env, "SECURE_HSTS_PRELOAD": "1"},
        cwd=servers.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "(1 silenced)" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"BEHIND_PROXY": "maybe"}, "BEHIND_PROXY must be 1 or 0"),
        ({"BEHIND_PROXY": "1", "TRUSTED_PROXIES": "10.0.0.1,nginx"}, "'nginx' is not an IP address"),
        ({"TRUSTED_PROXIES": "10.0.0.1"}, "set BEHIND_PROXY=1 as well"),
        ({"BEHIND_PROXY": "1", "PROXY_COUNT": "1"}, "PROXY_COUNT is no longer read"),
    ],
)
def test_a_wrong_proxy_setting_is_refused_by_the_app_and_trusts_nobody_in_uvicorn(extra: dict, error: str) -> None:
    run = _python("import django; django.setup()", env={**PRODUCTION, **extra})
    assert run.returncode != 0 and error in run.stderr
    options = _proxy_options({**PRODUCTION, **extra})
    assert options.stdout.split() == ["--no-proxy-headers", "--forwarded-allow-ips="] and error in options.stderr


@pytest.mark.parametrize(
    ("extra", "options"),
    [
        # FORWARDED_ALLOW_IPS, which uvicorn would read, is overridden: only our settings decide.
        ({"FORWARDED_ALLOW_IPS": "*"}, ["--no-proxy-headers", "--forwarded-allow-ips="]),
        ({"BEHIND_PROXY": "1"}, ["--proxy-headers", "--forwarded-allow-ips=127.0.0.1,::1"]),
        (
            {"BEHIND_PROXY": "1", "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"},
            ["--proxy-headers", "--forwarded-allow-ips=10.0.0.0/8,192.0.2.7"],
        ),
    ],
)
def test_uvicorns_proxy_options_follow_the_settings(extra: dict, options: list[str]) -> None:
    run = _proxy_options({**PRODUCTION, **extra})
    assert run.stdout.split() == options, run.stderr
    code = "import django; django.setup(); from django.conf import settings; print(settings.TRUSTED_PROXIES)"
    expected = options[1].partition("=")[2]
    assert _python(code, env={**PRODUCTION, **extra}).stdout.strip() == str(expected.split(",") if expected else [])


@pytest.mark.parametrize(
    ("name", "garbage"),
    [
        ("CHANNEL_LAYER_SOCKET_TIMEOUT", "5"),  # not above the layer's 5 s blocking pop: the old drop
        ("CHANNEL_LAYER_SOCKET_TIMEOUT", "ten"),
        ("DATABASE_POOL_TIMEOUT", "-1"),
        ("DATABASE_POOL_TIMEOUT", "nan"),
        ("CELERY_VISIBILITY_TIMEOUT", "0"),
        ("CELERY_VISIBILITY_TIMEOUT", "1e400"),
    ],
)
def test_a_timeout_that_is_not_a_sensible_number_is_refused_by_name(name: str, garbage: str) -> None:
    env = {**PRODUCTION, "DATABASE_URL": "postgres://u@db.example/app", "REDIS_URL": "redis://redis.example:6379/0"}
    run = _python("import django; django.setup()", env={**env, name: garbage})
    assert run.returncode != 0 and "ImproperlyConfigured" in run.stderr and name in run.stderr, run.stderr[-500:]


def test_the_redis_and_database_timeouts_reach_their_clients() -> None:
    env = {**PRODUCTION, "DATABASE_URL": "postgres://u@db.example/app", "REDIS_URL": "redis://redis.example:6379/0"}
    code = """
import django, json; django.setup()
from django.conf import settings
host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
print(json.dumps([host["socket_timeout"], host["socket_keepalive"], settings.DATABASES["default"]["OPTIONS"]["pool"]["timeout"],
    settings.DATABASES["default"]["CONN_HEALTH_CHECKS"], settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]]))
"""
    run = _python(code, env=env)
    assert run.returncode == 0, run.stderr[-800:]
    assert json.loads(run.stdout) == [30.0, True, 10.0, True, 3600.0]
    run = _python(code, env={**env, "CHANNEL_LAYER_SOCKET_TIMEOUT": "60", "CELERY_VISIBILITY_TIMEOUT": "7200"})
    assert json.loads(run.stdout) == [60.0, True, 10.0, True, 7200.0]


@pytest.mark.parametrize(
    ("hours", "days", "expected"),
    [
        ("", "", "(datetime.time(7, 0), datetime.time(19, 0)) [0, 1, 2, 3, 4]"),
        ("22:00-06:00", "fri-mon", "(datetime.time(22, 0), datetime.time(6, 0)) [0, 4, 5, 6]"),
        ("08:30-24:00", "mon,wed", "(datetime.time(8, 30), datetime.time(23, 59, 59, 999999)) [0, 2]"),
        ("-", "sat-sun", "None [5, 6]"),
    ],
)
def test_audit_working_hours_and_days_are_parsed(hours: str, days: str, expected: str) -> None:
    env = {**PRODUCTION}
    if hours:
        env["AUDIT_WORKING_HOURS"] = "" if hours == "-" else hours
    if days:
        env["AUDIT_WORKING_DAYS"] = days
    run = _python(
        "from chatbot_site import settings as s; print(s.AUDIT_WORKING_HOURS, sorted(s.AUDIT_WORKING_DAYS))", env=env
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUDIT_WORKING_HOURS", "7-19"),
        ("AUDIT_WORKING_HOURS", "19:00-19:00"),
        ("AUDIT_WORKING_HOURS", "08:00-24:30"),
        ("AUDIT_WORKING_DAYS", "weekdays"),
        ("AUDIT_WORKING_DAYS", ","),
        ("AUDIT_ALERT_FAILED_SIGNINS", "0"),
    ],
)
def test_bad_audit_alert_settings_refuse_to_start(name: str, value: str) -> None:
    run = _python("import chatbot_site.settings", env={**PRODUCTION, name: value})
    assert run.returncode != 0 and "ImproperlyConfigured" in run.stderr and name in run.stderr
