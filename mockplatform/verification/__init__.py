"""Judging a journal against a rule profile and its test-case catalogue; the result is a Protocol."""

from .description import Description, load_description
from .engine import VerifyOptions, contract_registry, judge_exchanges, verify

__all__ = ["Description", "VerifyOptions", "contract_registry", "judge_exchanges", "load_description", "verify"]
