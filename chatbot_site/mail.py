"""Sending our e-mails (verification links, confirmations) through Django's backend, so that an
address never reaches logs or task results, and a relay's answer decides whether to try again."""

from __future__ import annotations

import logging
import smtplib

from django.core.mail import send_mail

logger = logging.getLogger(__name__)


class MailTemporaryFailure(Exception):
    """The mail relay could not take a message now (the task retries). Says what, never to whom."""


def send(*, to: str, subject: str, body: str, what: str) -> bool:
    """Send one e-mail. True once the relay took it; False if it refused it for good (a 5xx: an
    address that does not exist); MailTemporaryFailure if it may work later. `what` names the
    e-mail in logs ("verify.txt e-mail of data request …"); the address and the relay's reply
    (which quotes it) are never logged or raised."""
    try:
        send_mail(subject, body, None, [to])
    except smtplib.SMTPRecipientsRefused as exc:
        permanent = all(code >= 500 for code, _ in exc.recipients.values())
        failure = exc.__class__.__name__
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        permanent, failure = exc.smtp_code >= 500, exc.__class__.__name__
    except OSError as exc:  # connection refused or lost, timeouts, other smtplib errors
        permanent, failure = False, exc.__class__.__name__
    else:
        logger.info("sent the %s", what)
        return True
    if permanent:
        logger.warning("the mail relay refused the %s (%s)", what, failure)
        return False
    raise MailTemporaryFailure(f"{what}: {failure}") from None
