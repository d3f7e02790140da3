"""A fresh clone of the repository per module (sharing this checkout's .venv), the `make` front door run inside it,
and an S3 stand-in whose buckets outlive each command."""

from __future__ import annotations

import pytest
from helpers.clone import Clone, git_clone

from de_sandbox.native.objectstore import s3_standin


@pytest.fixture(scope="module")
def s3_lifecycle():
    with s3_standin() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def clone(tmp_path_factory, s3_lifecycle) -> Clone:
    """`git clone` of this checkout's HEAD with a link to its .venv."""
    return git_clone(tmp_path_factory.mktemp("clone") / "repo", s3_lifecycle)
