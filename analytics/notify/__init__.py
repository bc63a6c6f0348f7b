"""Notifications (issue 20): the outward half of the loop, 临近提醒 → 到期催办 → 情况通报.

rules.py (the rules as data, an administrator's edits as numbered versions) → evaluate.py (where each rule's
condition holds at a data version, in a scope) → firings.py (a rule fires once when its condition starts and is
reset when it clears) → subscriptions.py (who wants which rules for which regions, by which channel, how often;
owners.py: the item's lead department and responsible leader hear of it too) → digest.py (one message per person
and period) → outbox.py and channels.py (queued, sent once, retried; robots.py: a group robot's messages batched
and paced) →
scheduler.py (one pass: evaluate, queue what is due, deliver). No Streamlit here; docs/notifications.md.

Everything written while the app runs lives in one SQLite state store beside the database, `<db>.notify.sqlite`
(store.py), so the scheduler, the command line and the app can all write it.
"""
