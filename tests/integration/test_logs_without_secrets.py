"""Nothing secret in the logs: a full flow against a real uvicorn process started as the Procfile
starts it (its log configuration included) and a real Celery worker (which sends the e-mails:
Django's file backend), then the whole output of both is searched for every one-time token and
every canary (an e-mail address, a message body, a password)."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests import servers
from tests.privacy.scenario import canary

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """Cookies, CSRF tokens from the page's form, redirects followed by hand (so each is logged)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.page = ""

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=20) as response:
                status, location, content = response.status, None, response.read()
        except urllib.error.HTTPError as exc:
            status, location, content = exc.code, exc.headers.get("Location"), exc.read()
        if status in (301, 302, 303) and location:
            return self.request(location.removeprefix(self.base))
        self.page = content.decode("utf-8", "replace")
        return status, self.page

    def post_form(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        self.request(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.page).group(1)
        return self.request(path, {"csrfmiddlewaretoken": token, **data})

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)


def _mail_link(mail_dir: Path, pattern: str, *, after: int = 0) -> str:
    found: list[str] = []

    def seen() -> bool:
        texts = [p.read_text() for p in sorted(mail_dir.glob("*.log"))] if mail_dir.exists() else []
        found[:] = re.findall(pattern, "\n".join(t.replace("=\n", "") for t in texts))
        return len(found) > after

    servers.wait_for(seen, what=f"an e-mail with {pattern}", timeout=90, interval=0.2)
    return found[-1]


def test_a_full_flow_leaves_no_token_and_no_canary_in_the_logs(tmp_path: Path) -> None:
    address = f"{canary('log-mail').lower()}@example.com"
    signup_address = f"{canary('log-signup').lower()}@example.com"
    said = canary("log-said")
    password = canary("log-password") + "-Aa1!"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    env = {
        "EMAIL_URL": "filemail://",
        "EMAIL_FILE_PATH": str(mail_dir),
        "SITE_URL": "http://confidant.test",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LOG_LEVEL": "DEBUG",  # everything the app would ever log, and uvicorn's access log
    }
    tokens: list[str] = []
    with servers.celery_worker(queue=queue, extra_env=env), servers.asgi_server(extra_env=env) as base:
        visitor = Browser(base)
        assert visitor.request("/chat/")[0] == 200
        with connect(
            base.replace("http://", "ws://") + "/ws/chat/",
            additional_headers={"Origin": base, "Cookie": f"sessionid={visitor.cookie('sessionid')}"},
            open_timeout=10,
        ) as ws:
            ws.send(json.dumps({"type": "message", "client_id": str(uuid.uuid4()), "body": f"I am {said}"}))
            while json.loads(ws.recv(timeout=20)).get("type") != "ack":
                pass

        # A visitor's export: request → verification link → status link → download, once.
        assert visitor.post_form("/privacy/requests/new/", {"kind": "export", "email": address})[0] == 200
        verify = _mail_link(mail_dir, r"http://confidant\.test(/privacy/requests/[0-9a-f-]+/verify/[^/\s]+/)")
        tokens.append(verify.split("/")[-2])
        status, page = visitor.post_form(verify, {})
        assert status == 200
        status_link = _mail_link(mail_dir, r"http://confidant\.test(/privacy/requests/[0-9a-f-]+/status/[^/\s]+/)")
        tokens.append(status_link.split("/")[-2])
        assert visitor.request(status_link)[0] == 200
        download = _mail_link(mail_dir, r"http://confidant\.test(/privacy/exports/[0-9a-f-]+/[^/\s]+/)")
        tokens.append(download.split("/")[-2])
        visitor.request(download)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', visitor.page).group(1)
        assert visitor.request(download, {"csrfmiddlewaretoken": token})[0] == 200  # the archive
        assert visitor.request(download)[0] == 410  # used: logged as a client error, still redacted

        # Sign-up with an address → its activation link (the account is proved at sign-in after).
        member = Browser(base)
        username = f"logtest{uuid.uuid4().hex[:6]}"
        form = {"username": username, "email": signup_address, "password1": password, "password2": password}
        assert member.post_form("/accounts/signup/", form)[0] == 200
        confirm = _mail_link(mail_dir, r"http://confidant\.test(/accounts/email/confirm/\d+/[^/\s]+/)")
        tokens.append(confirm.split("/")[-2])
        status, page = member.post_form(confirm, {})
        assert status == 200 and "Your account is active" in page

        # Damaged links and query strings: logged as warnings by Django, redacted all the same.
        damaged = f"{download.rsplit('/', 2)[0]}/{canary('log-forged')}/"
        tokens.append(damaged.split("/")[-2])
        assert visitor.request(damaged)[0] == 400
        query_secret = canary("log-query")
        tokens.append(query_secret)
        visitor.request(f"/no-such-page/?token={query_secret}")
        server_log = servers.server_log(base)
    worker_log = servers.ROOT / "var" / f"test-worker-{queue}.log"
    logs = server_log.read_text() + worker_log.read_text()

    # The logs did record the flow (with the tokens replaced)...
    assert re.search(r'"GET /privacy/exports/[0-9a-f-]+/\[redacted\]/ HTTP/1.1" 200', logs)
    assert re.search(r'"POST /accounts/email/confirm/\d+/\[redacted\]/ HTTP/1.1" 302', logs)  # activated: to sign-in
    assert re.search(r'"GET /privacy/requests/[0-9a-f-]+/status/\[redacted\]/ HTTP/1.1" 200', logs)
    assert '"GET /no-such-page/?token=[redacted] HTTP/1.1" 404' in logs
    assert "WebSocket /ws/chat/" in logs
    # ...and hold none of them, nor any canary.
    assert len(tokens) == 6 and all(len(t) >= 16 for t in tokens)
    for secret in [*tokens, address, signup_address, said, password]:
        assert secret not in logs, secret
