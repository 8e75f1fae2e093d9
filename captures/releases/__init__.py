"""Releases of data outside the agency: the disclosure register and evidence packages."""
