"""The audit trail: who did what to which personal data, when, from where, with what outcome.

One recorder (`audit.services.record`) that every app's services call; entries are append-only
(refused by the ORM and, on PostgreSQL, by a trigger) and each carries a keyed MAC (AUDIT_KEY)
chained to the one before, written in one order under a lock, so that `manage.py
verify_audit_trail` finds an entry edited, removed, inserted or reordered. Pruning past
AUDIT_RETENTION_DAYS leaves a signed checkpoint the chain continues from. Entries never hold
message content or a personal value: ids, roles, actions, outcomes, addresses of the client.

Imports no app: the actor is any object with `pk` (and `role`, `is_superuser`), the object any
model instance or a (type, id) pair.
"""
