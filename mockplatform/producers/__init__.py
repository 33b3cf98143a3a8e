"""Producers: the systems behind the platform. A producer is a callable ProducerCall -> ProducerAnswer."""

from .base import Producer, ProducerAnswer, ProducerCall, fault_answer, schema_fault, soap_answer, version_mismatch

__all__ = ["Producer", "ProducerAnswer", "ProducerCall", "fault_answer", "schema_fault", "soap_answer",
           "version_mismatch"]
