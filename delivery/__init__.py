"""Delivery: email and webhooks sent from an outbox kept in the database.

The events are recorded by the application layer (`usecases.delivery`) in the same transaction
as the operation they announce; this package holds what sending needs and nothing of the books'
rules: the Standard Webhooks signature (`signing`), the outbox's rows and its retry schedule
(`outbox`), the email message and SMTP (`mail`) and the webhook POST (`webhook`).
"""
