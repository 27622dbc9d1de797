"""Deterministic demo landing files with a known ground truth of breaks."""

from .demo import generate

__all__ = ["generate"]
