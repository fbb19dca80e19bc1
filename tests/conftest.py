"""Shared pytest fixtures."""

import pathlib

import pytest

from nova_livemig import model

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def example_snapshot():
    """The example snapshot shipped in etc/nova-livemig/."""
    return model.load(ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json')


@pytest.fixture(autouse=True)
def _restore_logging():
    """Commands under test set up logging (oslo.log) on streams pytest
    closes afterwards; put the loggers back as they were after each test."""
    import logging
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = {name: (list(lg.handlers), lg.level, lg.propagate)
             for name, lg in logging.Logger.manager.loggerDict.items()
             if isinstance(lg, logging.Logger)}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lg in logging.Logger.manager.loggerDict.items():
        if not isinstance(lg, logging.Logger):
            continue
        if name in named:
            lg.handlers[:], lg.level, lg.propagate = named[name]
        else:
            lg.handlers[:] = []
