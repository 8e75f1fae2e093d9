"""Image bytes at rest: the encrypted files (``files``), what each UTC day's folder and key
still hold (``days``), and the read-only admin of the day keys."""
