"""Legal holds: captures preserved past retention for a court case, shown only on the hold's
page, purged the night after the hold ends or is lifted.

Rank 0 among the capture folders (beside ``retention``): the purge and the retention checks
ask ``holds.selectors`` which captures an active hold keeps, so holds import nothing that
builds on the data. Placing a hold from a search result is offered by ``search`` (which builds
on holds), in ``captures/search/holds.py``.
"""
