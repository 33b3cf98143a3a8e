"""Judging a journal against a rule profile and the test-case catalogue; the result is a Protocol."""

from .cases import CATALOGUE, TestCase
from .description import Description, load_description
from .engine import VerifyOptions, judge_exchanges, verify

__all__ = ["CATALOGUE", "Description", "TestCase", "VerifyOptions", "judge_exchanges", "load_description", "verify"]
