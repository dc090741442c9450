"""Storage of the books: tables, repository, unit of work, group commit, plain SQL, engines.

The only package inside `ledger` that imports SQLAlchemy; everything above it talks to the books
through `UnitOfWork` and `SqlRepository`.
"""
