"""Donor receipts: numbering and issuing (storage side) and presentation (this side).

Presentation modules, importable without side effects (no file reads, no PDF engine loaded):
- `receipts.model`: `ReceiptView`, `AllocationLine`, `CoveredGift`, the frozen view of a receipt.
- `receipts.numerals`: `to_chinese_capital`, amounts in Chinese capital numerals (大写).
- `receipts.i18n`: the receipt's words in zh-Hans, zh-Hant and en, and their Babel locales.
- `receipts.render`: `render_html`, `render_pdf`, `content_security_policy` and the
  deny-by-default PDF resource fetcher.

This package imports `ledger` only, never `api`, `audits` or flask. Nothing is re-exported here
so that `import receipts` stays free of Jinja2, Babel and WeasyPrint.
"""
