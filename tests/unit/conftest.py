"""Unit-test fixtures: moto started once per session with the app's table and bucket made once;
each test that asks for `aws` starts from that table and bucket, empty, and nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.support.aws import AwsSlate


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[AwsSlate]:
    """moto's in-process AWS for the whole session (one boto3 session, its models loaded once)."""
    with mock_aws():
        yield AwsSlate()


@pytest.fixture
def aws(_moto_session: AwsSlate) -> None:
    """The app's table and bucket, present and empty; tables, buckets and uploads an earlier
    test made (or an older-schema table it put in the app's table's place) are gone."""
    _moto_session.clean()
