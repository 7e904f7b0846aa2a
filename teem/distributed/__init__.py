"""teem.distributed: scheduler, workers and clients that run graphs across machines."""

__all__ = []
