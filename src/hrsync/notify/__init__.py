"""E-mail for hrsync: templates, a transactional outbox, and SMTP delivery.

Rows are written into the outbox inside the transaction that causes them (so an import that rolls
back never leaves an e-mail behind) and delivered afterwards by :func:`hrsync.notify.delivery.send_due`.
"""
