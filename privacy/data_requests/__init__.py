"""Data-subject requests: a copy of one's data (export) or its erasure (deletion).

The life of a request:
1. opened from the portal's form: by a visitor, for an e-mail address (`lifecycle.data_request_open`),
   then confirmed from a signed link sent there, valid for PRIVACY_VERIFY_LINK_MINUTES and once
   (`lifecycle.data_request_verify`); or by a signed-in customer who re-authenticated moments ago
   (`lifecycle.data_request_open_for_account`), verified at once. The form answers the same whatever
   the address, and the same work is done for known and unknown addresses (no account enumeration).
   A link proves control of a mailbox, not of an account (sign-up does not verify addresses):
   a visitor's request covers the chat of the browser that asked; an account's data is reached
   only by signing in to it.
2. received: due PRIVACY_REQUEST_DUE_DAYS later. An export is built at once (`export.export_build`); a
   deletion waits for a privacy officer (`lifecycle.deletion_review_start`, `deletion_approve`,
   `deletion_deny`), unless PRIVACY_AUTO_APPROVE_DELETION.
3. carried out by Celery (`deletion.deletion_execute`, `export.export_build`), idempotently: a task
   run twice, or after a crash, finishes the work and does nothing twice.

What a deletion removes, and what it keeps, is listed in `deletion.deletion_execute`.

The modules, each with one job, importing only downward in this order (contract `acyclic`):

- `jobs`: the hourly housekeeping (re-drive stuck steps, expire, forget);
- `export`: building the archive (JSON, HTML, zip), storing it encrypted, the one download;
- `deletion`: carrying out a deletion, and a visitor's "Delete this chat";
- `lifecycle`: the state changes: open, verify, review, approve, deny;
- `notify`: the e-mails, and the claim that sends a closing e-mail once;
- `links`: signed links: tokens, their checks, URLs;
- `selectors`: reads: the officer's queue, a user's requests, what is held about a subject;
- `storage`: where an export's archive is kept.
"""
