"""Shared fixtures."""

import pytest

from sim.world import World, load_world


@pytest.fixture(scope="session")
def world() -> World:
    return load_world()
