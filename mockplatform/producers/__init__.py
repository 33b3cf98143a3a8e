"""Producers: the systems behind the platform. A producer is a callable ProducerCall -> ProducerAnswer."""

from .base import Producer, ProducerAnswer, ProducerCall

__all__ = ["Producer", "ProducerAnswer", "ProducerCall"]
