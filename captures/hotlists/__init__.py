"""Hotlists: lists of wanted plates, their entries, imports of extracts, and matching every read.

The data-keeping half of hotlists (rank 0 among the capture folders, beside ingest and
reading, which call ``matching.match_read`` in the transaction that stores a read). What people
do with it (entries typed in with a purpose, the alert pages, confirmation, reports) is in
``captures/alerts/``, which builds on search and review.
"""
