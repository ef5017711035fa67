"""Personas, shared fixtures, service requirements and the CI rule that nothing may skip.

Tests that need a real service (Redis, Chromium) skip with a visible reason when it is absent;
under CI=true a skip is a failure instead.
"""

from __future__ import annotations

import asyncio
import asyncio.runners
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connections

from accounts.models import User
from chatbot_site.celery import app as celery_app
from conversations import limits
from tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    # The SQLite test databases and the test servers' logs go in var/, which settings do not make.
    settings.VAR_DIR.mkdir(exist_ok=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every database test may use both databases: the app's and the data keys' (vault.routers)."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and "databases" not in marker.kwargs:
            item.add_marker(pytest.mark.django_db(*marker.args, **marker.kwargs, databases="__all__"), append=False)
        elif marker is None and {"db", "transactional_db"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.django_db(databases="__all__"), append=False)


def _database_threads_idle(timeout: float = 30) -> None:
    """Wait until every thread of chatbot_site.realtime.db_call has finished its work. A test's
    loop ends by cancelling what it left (a bot answering after the ack, say), but a call already
    running on a database thread goes on; pytest-django's flush (TRUNCATE) must not race it."""
    from chatbot_site import realtime

    if not realtime._db_executor.cache_info().currsize:  # noqa: SLF001
        return
    executor = realtime._db_executor()  # noqa: SLF001
    meet = threading.Barrier(executor._max_workers, timeout=timeout)  # noqa: SLF001
    # Every thread must be free to reach the barrier: what was queued before has finished.
    for future in [executor.submit(meet.wait) for _ in range(executor._max_workers)]:  # noqa: SLF001
        future.result(timeout)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> object:
    _database_threads_idle()
    return (yield)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped under CI=true, where every test must run: {report.longrepr}"


@pytest.fixture
def requires_redis() -> None:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)")


@pytest.fixture
def requires_postgres() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/confidant)")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("needs Chromium: apt-get install chromium")
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


# --- personas ------------------------------------------------------------------------------
def _persona(username: str, role: str, first_name: str = "") -> Any:
    @pytest.fixture
    def fixture(db: None) -> User:
        return UserFactory(username=username, role=role, first_name=first_name or username.title())

    return fixture


customer = _persona("customer", User.Role.CUSTOMER)
other_customer = _persona("other_customer", User.Role.CUSTOMER)
agent = _persona("agent", User.Role.AGENT, "Alex")
other_agent = _persona("other_agent", User.Role.AGENT, "Sam")
supervisor = _persona("supervisor", User.Role.SUPERVISOR, "Morgan")
privacy_officer = _persona("privacy_officer", User.Role.PRIVACY_OFFICER, "Pat")


@pytest.fixture
def superuser(db: None) -> User:
    """The site's administrator: a superuser with the Django admin's staff flag."""
    return UserFactory(username="root", is_superuser=True, is_staff=True)


# --- shared settings -------------------------------------------------------------------------
@pytest.fixture
def eager_tasks(settings: Any) -> Iterator[None]:
    """Celery tasks run inside the call that queues them, and e-mailed links name the test
    client's host. (The tasks are one-line wrappers over the services the tests exercise; the
    browser tests run a real worker.)"""
    settings.SITE_URL = "http://testserver"
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Rate-limit counters live in the cache (socket leases in Redis, or this process's memory):
    every test starts with none used."""
    cache.clear()
    limits.memory_leases.clear()


@pytest.fixture(autouse=True)
def _no_off_hours_alerts(settings: object) -> None:
    """The off-hours alert rule depends on the clock: a suite run at night would raise alerts (and
    queue their mail) that a daytime run does not. Its own tests turn it on with hours around now."""
    settings.AUDIT_WORKING_HOURS = None


@pytest.fixture(autouse=True)
def _plain_http(settings: object) -> None:
    """The test client speaks plain HTTP; outside DEBUG the settings redirect it to HTTPS."""
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Let the test database be dropped at the end. Threads of database_sync_to_async keep
    connections checked out of psycopg's pool, so closing the pool is not enough: end every other
    session on the test database."""
    yield
    with django_db_blocker.unblock():
        for conn in connections.all(initialized_only=True):
            if conn.vendor != "postgresql":
                continue
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            conn.close_pool()


def _cancel_all_tasks_bounded(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio.runners._cancel_all_tasks, but bounded. A test's loop is closed by cancelling the
    tasks it left (a denied socket's consumer that the test never disconnected, say) and waiting
    for them; one such consumer on the Redis layer was seen never to end when cancelled (issue 12;
    not reproduced since consumers stopped queueing on the one thread that every socket's
    database work shared), which hung the whole suite. Such a task
    fails the test, with its stack, instead of being waited for forever."""
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    done, pending = loop.run_until_complete(asyncio.wait(tasks, timeout=15))
    for task in pending:
        print(f"\nA task did not end within 15 s of being cancelled at test teardown: {task!r}")
        task.print_stack()
    if pending:
        raise RuntimeError(f"{len(pending)} task(s) did not end when cancelled at test teardown (stacks above)")
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {"message": "unhandled exception during test teardown", "exception": task.exception(), "task": task}
            )


asyncio.runners._cancel_all_tasks = _cancel_all_tasks_bounded  # noqa: SLF001


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    """A new channel layer object per test: each async test runs on its own event loop, and a
    layer that was mid-receive when a previous loop ended stays bound to that loop."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
