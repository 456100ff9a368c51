"""Queue email in the outbox, and drain the outbox to SMTP.

Queueing writes a row in the caller's transaction, so an email exists if and
only if the change that caused it was committed. Draining claims due rows
(row locks that skip locked rows on PostgreSQL; SQLite's single writer does
the same job), sends each with its stable Message-ID, and records the
outcome of each message as soon as it is known. A failed send is retried
with exponential backoff; a message is given up only after days, with the
reason kept on the row.
"""

from __future__ import annotations

import email.policy
import random
import smtplib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid
from time import monotonic

import flask_mail
from flask import current_app, g, has_request_context, render_template
from sqlalchemy import or_, select, update

from register.config import is_development
from register.database import utcnow, writing
from register.extensions import db
from register.mail.models import OutboxMessage

# A claim on a message lapses after this many seconds unless renewed (MAIL_CLAIM_SECONDS).
CLAIM_SECONDS = 30
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=2)


def single_line(value: str) -> str:
    """Collapse a header value to one line, so no input can add a header."""
    return " ".join(str(value).split())


def queue_email(
    kind: str, /, *, to: str, name: str = "", subject: str, template: str,
    attachments: list[dict] | None = None, **context
) -> OutboxMessage:
    """Render `email/<template>.txt` and `.html` and add the message to the outbox.

    The row joins the caller's transaction; nothing is sent until it commits.
    `attachments` is a list of {"filename", "content_type", "data"} (text data).
    """
    context.setdefault("recipient_name", name)
    message = OutboxMessage(
        message_id=make_msgid(domain=_message_domain()),
        kind=kind,
        recipient=single_line(to),
        recipient_name=single_line(name)[:120],
        subject=single_line(subject)[:255],
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", **context),
        attachments=attachments or None,
    )
    db.session.add(message)
    db.session.flush()
    if has_request_context():
        g.outbox_has_mail = True
    return message


def _message_domain() -> str:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    address = sender[1] if isinstance(sender, tuple) else sender
    domain = address.rpartition("@")[2].strip(" >")
    return domain or "mentor-register.invalid"


@dataclass
class DrainResult:
    """What one drain did: counts of messages sent, rescheduled and given up."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


class PermanentFailure(Exception):
    """The relay refused the message for good (a 5xx answer); retrying cannot help."""


class _Message(flask_mail.Message):
    """Folds headers at 998 characters, the SMTP limit.

    Python 3.11's header folder leaves a space before an encoded word it moves
    to the next line, so a subject like "time – your" arrived as "time  – your".
    """

    def _message(self):
        msg = super()._message()
        msg.policy = email.policy.SMTP.clone(max_line_length=998)
        return msg


class _Transport:
    """Sends outbox rows through Flask-Mail, with a timeout Flask-Mail lacks."""

    def __init__(self):
        self.connection = None

    def open(self) -> None:
        if self.connection is None:
            connection = _TimedConnection(current_app.extensions["mail"])
            connection.__enter__()
            self.connection = connection

    def send(self, row: OutboxMessage) -> None:
        recipient = (row.recipient_name, row.recipient) if row.recipient_name else row.recipient
        message = _Message(
            subject=row.subject,
            recipients=[recipient],
            body=row.body_text,
            html=row.body_html,
            extra_headers={"Auto-Submitted": "auto-generated"},
        )
        message.msgId = row.message_id
        for attachment in row.attachments or []:
            message.attach(attachment["filename"], attachment["content_type"],
                           attachment["data"].encode("utf-8"))
        try:
            self.connection.send(message)
        except flask_mail.BadHeaderError as error:
            raise PermanentFailure("a header contained a line break") from error
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {error.recipients}") from error
            raise
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            if error.smtp_code >= 500:
                raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
            raise

    def close(self) -> None:
        if self.connection is not None and self.connection.host is not None:
            try:
                self.connection.host.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.host.close()
        self.connection = None


class _TimedConnection(flask_mail.Connection):
    def configure_host(self):
        timeout = current_app.config["MAIL_TIMEOUT_SECONDS"]
        state = self.mail
        if state.use_ssl:
            host = smtplib.SMTP_SSL(state.server, state.port, timeout=timeout)
        else:
            host = smtplib.SMTP(state.server, state.port, timeout=timeout)
        if state.use_tls:
            host.starttls()
        if state.username and state.password:
            host.login(state.username, state.password)
        return host


class _Capture:
    """Development without an SMTP server: keep the message for the browser mailbox."""

    def open(self) -> None:
        pass

    def send(self, row: OutboxMessage) -> None:
        pass

    def close(self) -> None:
        pass


def captures_mail(app=None) -> bool:
    """True when mail is kept for the development mailbox instead of sent."""
    app = app or current_app
    # Testing is development too (see is_development): with no relay configured
    # there is nowhere to send to, and retrying against nothing only ends in
    # "given up" days later.
    return is_development(app) and not app.config.get("MAIL_SERVER")


def _transport():
    if captures_mail():
        return _Capture()
    return _Transport()


def claim_due(limit: int, claimant: str) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for `claimant`, commit the claim, return the rows.

    The claim is a short lease (`lease()`): if the sender dies, another takes
    the message over seconds later. The rows come back detached from the
    session: they can be read while sending without opening a transaction.
    """
    now = utcnow()
    rows: list[OutboxMessage] = []
    with writing():
        ids = db.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxMessage.PENDING,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if ids:
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(claimed_until=now + lease(), claimed_by=claimant)
            )
            rows = list(
                db.session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .order_by(OutboxMessage.id)
                    .execution_options(populate_existing=True)
                )
            )
            # Sending waits on the network. Rows still in the session would expire
            # at each commit and reload in a new transaction, which on SQLite takes
            # the database's one write lock and would hold it while the relay
            # answers, making every request that writes wait. The claim, not a
            # transaction, is what keeps these rows ours.
            for row in rows:
                db.session.expunge(row)
        db.session.commit()
    return rows


def lease() -> timedelta:
    """How long a claim on one message lasts: enough for one SMTP conversation."""
    return timedelta(seconds=current_app.config.get("MAIL_CLAIM_SECONDS", CLAIM_SECONDS))


def _renew(row: OutboxMessage, claimant: str) -> None:
    # Connecting to the relay may itself have taken most of a lease.
    with writing():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == claimant)
            .values(claimed_until=utcnow() + lease())
        )
        db.session.commit()


def _settle(row: OutboxMessage, claimant: str, **values) -> None:
    # Only the holder of the claim may record the outcome: if our lease lapsed
    # and another sender took the message over, its word counts, not ours.
    with writing():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == claimant)
            .values(claimed_until=None, claimed_by=None, **values)
        )
        db.session.commit()


def _retry_delay(attempts: int) -> timedelta:
    delay = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)
    # A little jitter, so a queue that failed together does not retry in lockstep.
    return delay * random.uniform(0.9, 1.1)


def _reschedule(row: OutboxMessage, claimant: str, error: Exception) -> str:
    now = utcnow()
    attempts = row.attempts + 1
    reason = f"{type(error).__name__}: {error}"[:2000]
    give_up_after = timedelta(hours=current_app.config["MAIL_GIVE_UP_AFTER_HOURS"])
    if now - row.created_at >= give_up_after:
        _settle(
            row,
            claimant,
            status=OutboxMessage.FAILED,
            attempts=attempts,
            last_error=f"gave up after {attempts} attempts: {reason}",
        )
        current_app.logger.error("Gave up on mail %s to %s: %s", row.id, row.recipient, reason)
        return "failed"
    _settle(
        row,
        claimant,
        attempts=attempts,
        last_error=reason,
        next_attempt_at=now + _retry_delay(attempts),
    )
    current_app.logger.warning("Mail %s not sent yet (%s); will retry", row.id, reason)
    return "retried"


def drain(max_messages: int | None = None, max_seconds: float | None = None) -> DrainResult:
    """Send what is due, one message at a time, until none is due or a limit is reached.

    Each message is claimed on its own, just before it is sent, so a sender
    that dies holds one message for one short lease, never a batch for minutes.
    Delivery is at least once: a crash between the relay's "250 accepted" and
    the commit that records it sends that message again, with the same
    Message-ID, when the lease lapses.
    """
    deadline = monotonic() + (max_seconds if max_seconds is not None else 1e9)
    claimant = uuid.uuid4().hex
    result = DrainResult()
    transport = _transport()
    try:
        while monotonic() < deadline and (max_messages is None or result.handled < max_messages):
            rows = claim_due(1, claimant)
            if not rows or not _send_one(transport, rows[0], claimant, result):
                break
    finally:
        transport.close()
    return result


def _send_one(transport, row: OutboxMessage, claimant: str, result: DrainResult) -> bool:
    """Send one claimed row; False when the relay is unreachable and draining should stop."""
    try:
        if getattr(transport, "connection", True) is None:
            transport.open()
            _renew(row, claimant)
        transport.send(row)
    except PermanentFailure as error:
        _settle(row, claimant, status=OutboxMessage.FAILED, attempts=row.attempts + 1,
                last_error=str(error)[:2000])
        result.failed += 1
    except smtplib.SMTPRecipientsRefused as error:  # a 4xx for this address only
        _count(result, _reschedule(row, claimant, error))
    except smtplib.SMTPServerDisconnected as error:
        _count(result, _reschedule(row, claimant, error))
        transport.close()
        return False
    except smtplib.SMTPResponseException as error:
        refused_at_door = transport.connection is None  # refused while connecting or logging in
        _count(result, _reschedule(row, claimant, error))
        transport.close()
        return not refused_at_door
    except (smtplib.SMTPException, OSError) as error:
        # The relay is down or unreachable: stop, and let the worker come back later.
        _count(result, _reschedule(row, claimant, error))
        transport.close()
        return False
    else:
        _settle(row, claimant, status=OutboxMessage.SENT, attempts=row.attempts + 1,
                sent_at=utcnow(), last_error=None)
        result.sent += 1
    return True


def _count(result: DrainResult, outcome: str) -> None:
    setattr(result, outcome, getattr(result, outcome) + 1)


def drain_after_request(app) -> None:
    """Called once the response is sent: a short, best-effort drain in a fresh context."""
    with app.app_context():
        try:
            drain(max_messages=app.config["MAIL_DRAIN_BATCH"],
                  max_seconds=app.config["MAIL_DRAIN_SECONDS"])
        except Exception:  # the worker will pick the message up; never lose the response
            db.session.rollback()
            app.logger.exception("Draining the outbox after a request failed")
        finally:
            db.session.remove()
