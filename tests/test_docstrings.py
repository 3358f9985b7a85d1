"""Every example in a docstring runs and shows what it says (the API page prints them)."""

import doctest
import importlib
import pkgutil

import pytest

import tcpbook

MODULES = sorted(m.name for m in pkgutil.walk_packages(tcpbook.__path__, "tcpbook.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_exist():
    finder = doctest.DocTestFinder()
    examples = sum(len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name)))
    assert examples >= 20
