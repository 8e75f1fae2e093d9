"""Retention of captures: the cutoff applied at query time (``selectors``), the purge
(``services``) and the checks that nothing past retention remains (``checks``)."""
