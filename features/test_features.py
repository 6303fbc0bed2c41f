"""Collects every scenario of the .feature files in this directory (pytest-bdd), in the order of the
files' numbers: the lab's tables first (Q2, Q5), then the extra cases."""

from pathlib import Path

from pytest_bdd import scenarios

for _feature in sorted(Path(__file__).parent.glob("*.feature")):
    scenarios(_feature.name)
