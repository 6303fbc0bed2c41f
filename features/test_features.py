"""Collects every scenario of the .feature files in this directory (pytest-bdd)."""
from pytest_bdd import scenarios

scenarios(".")
