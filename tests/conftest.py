"""Shared pytest fixtures."""

import pathlib

import pytest

from nova_livemig import model

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def example_snapshot():
    """The example snapshot shipped in etc/nova-livemig/."""
    return model.load(ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json')
