"""The pages anyone may read on an agency's host: its policy and its transparency figures."""
