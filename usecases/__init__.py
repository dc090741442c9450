"""The application layer: one module per use-case family.

Each use case does, in one unit of work, the ledger operation, the receipt it issues, its audit
event and idempotency. The API, the CLI, the importer and the console call these functions; none
of them repeats a rule.
"""
