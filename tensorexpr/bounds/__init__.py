"""Certified bounds on matricization ranks."""

from .specialization import specialization_bound

__all__ = ["specialization_bound"]
