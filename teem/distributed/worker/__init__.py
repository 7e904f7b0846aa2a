"""The distributed worker: its state machine, server and memory manager."""

__all__ = []
