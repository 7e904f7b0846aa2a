"""Command lines of the distributed runtime: ``teem scheduler`` and ``teem worker``."""
