"""Showing a read: the capture page, printing it for a case, and its images."""
