"""Reading other agencies' captures under a grant: the shared search, shared capture pages."""
