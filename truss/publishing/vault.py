"""Envelope encryption of platform tokens at rest.

Every `seal` makes a fresh 256-bit data key, encrypts the plaintext with AES-256-GCM under it
(the item's key, `PK|SK`, as associated data, so a sealed token copied into another item does
not open), and keeps the data key only wrapped by a master key. Two master-key providers:

- `KmsKeyProvider`: AWS KMS `GenerateDataKey` / `Decrypt` (TRUSS_TOKEN_KMS_KEY_ID); the item key
  is also the KMS encryption context.
- `KeyFileProvider`: a local key file (TRUSS_TOKEN_KEY_FILE) holding several AES keys, newest
  first, each with an id: rotation adds a key and old envelopes still open. For the local stack
  (moto keeps KMS keys in memory only) and self-hosters without KMS.

The stored envelope names the provider and key id that wrapped its data key. Nothing here logs
or puts key material or plaintext in an exception message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

ALGORITHM = "AES-256-GCM"
KMS = "kms"
KEY_FILE = "file"
NONCE_BYTES = 12


class VaultError(Exception):
    """Base of every vault error; messages never carry key material or plaintext."""


class VaultNotConfigured(VaultError):
    """Neither a KMS key nor a key file is configured."""


class KeyUnavailable(VaultError):
    """The key that wrapped an envelope is not available (unknown id, provider not set up)."""


class DecryptionFailed(VaultError):
    """The envelope does not open: it belongs to another item, or was altered."""


@dataclass(frozen=True, repr=False)
class DataKey:
    plaintext: bytes
    wrapped: bytes
    key_id: str

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id!r})"


class KeyProvider(Protocol):
    """A master key source: wraps fresh data keys and unwraps stored ones."""

    name: str

    def new_data_key(self, context: str) -> DataKey: ...

    def unwrap(self, key_id: str, wrapped: bytes, context: str) -> bytes: ...

    def rotate(self) -> str:
        """Make the key new envelopes are wrapped with current; return its id."""
        ...


@dataclass(frozen=True)
class Envelope:
    """What is stored: the wrapped data key, the nonce and the ciphertext, and who wrapped it."""

    provider: str
    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes

    def to_dict(self) -> dict[str, str]:
        return {
            "alg": ALGORITHM,
            "provider": self.provider,
            "key_id": self.key_id,
            "wrapped_key": _b64(self.wrapped_key),
            "nonce": _b64(self.nonce),
            "ciphertext": _b64(self.ciphertext),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> Envelope:
        try:
            if stored["alg"] != ALGORITHM:
                raise DecryptionFailed(f"unknown envelope algorithm {stored['alg']!r}")
            return cls(
                provider=str(stored["provider"]),
                key_id=str(stored["key_id"]),
                wrapped_key=base64.b64decode(stored["wrapped_key"]),
                nonce=base64.b64decode(stored["nonce"]),
                ciphertext=base64.b64decode(stored["ciphertext"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DecryptionFailed("the stored envelope is incomplete or damaged") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Vault:
    """Seals with the current provider; opens with whichever provider an envelope names."""

    def __init__(self, current: KeyProvider, readers: Sequence[KeyProvider] = ()) -> None:
        self.current = current
        self._providers = {p.name: p for p in (*readers, current)}

    def seal(self, plaintext: bytes, context: str) -> Envelope:
        data_key = self.current.new_data_key(context)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key.plaintext).encrypt(nonce, plaintext, context.encode())
        return Envelope(self.current.name, data_key.key_id, data_key.wrapped, nonce, ciphertext)

    def open(self, envelope: Envelope, context: str) -> bytes:
        provider = self._providers.get(envelope.provider)
        if provider is None:
            raise KeyUnavailable(
                f"tokens wrapped by {envelope.provider!r} need that key provider configured"
            )
        data_key = provider.unwrap(envelope.key_id, envelope.wrapped_key, context)
        try:
            return AESGCM(data_key).decrypt(envelope.nonce, envelope.ciphertext, context.encode())
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed(
                "the token does not open for this item: it belongs to another item or was altered"
            ) from exc

    def seal_json(self, value: Mapping[str, Any], context: str) -> dict[str, str]:
        """A JSON value sealed, as the dict stored in the item."""
        return self.seal(json.dumps(value, sort_keys=True).encode(), context).to_dict()

    def open_json(self, stored: Mapping[str, Any], context: str) -> dict[str, Any]:
        value = json.loads(self.open(Envelope.from_dict(stored), context))
        if not isinstance(value, dict):
            raise DecryptionFailed("the sealed value is not a JSON object")
        return value

    def rotate(self) -> str:
        """Prepare rotation: the current provider's newest key (a new one for a key file)."""
        return self.current.rotate()


class KmsKeyProvider:
    """AWS KMS: a data key per seal from GenerateDataKey, unwrapped with Decrypt."""

    name = KMS

    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self.key_id = key_id

    def new_data_key(self, context: str) -> DataKey:
        response = self._call(
            "generate_data_key",
            KeyId=self.key_id,
            KeySpec="AES_256",
            EncryptionContext=_kms_context(context),
        )
        return DataKey(response["Plaintext"], response["CiphertextBlob"], response["KeyId"])

    def unwrap(self, key_id: str, wrapped: bytes, context: str) -> bytes:
        response = self._call(
            "decrypt", CiphertextBlob=wrapped, KeyId=key_id, EncryptionContext=_kms_context(context)
        )
        return bytes(response["Plaintext"])

    def rotate(self) -> str:
        """KMS rotates its own key material; re-sealing wraps under TRUSS_TOKEN_KMS_KEY_ID."""
        return self.key_id

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code == "InvalidCiphertextException":
                raise DecryptionFailed(
                    "KMS refused the data key: it belongs to another item or was altered"
                ) from exc
            raise KeyUnavailable(f"KMS {operation} failed: {code or 'error'}") from exc


def _kms_context(context: str) -> dict[str, str]:
    return {"truss:item": context}


def kms_client(region: str) -> Any:
    """boto3 reads credentials and AWS_ENDPOINT_URL(_KMS) from the environment itself."""
    import boto3

    from truss.data import BOTO_CONFIG

    return boto3.client("kms", region_name=region, config=BOTO_CONFIG)


@dataclass(frozen=True, repr=False)
class MasterKey:
    key_id: str
    secret: bytes
    created_at: int

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"


class KeyFileProvider:
    """A JSON file of AES-256 master keys, newest first; read on every use, so a rotation by
    the operator's command reaches running workers without a restart."""

    name = KEY_FILE

    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = path
        self._create = create

    def new_data_key(self, context: str) -> DataKey:
        master = self.keys()[0]
        plaintext = AESGCM.generate_key(bit_length=256)
        return DataKey(plaintext, aes_key_wrap(master.secret, plaintext), master.key_id)

    def unwrap(self, key_id: str, wrapped: bytes, context: str) -> bytes:
        master = next((key for key in self.keys() if key.key_id == key_id), None)
        if master is None:
            raise KeyUnavailable(f"key {key_id!r} is not in the token key file {self.path}")
        try:
            return aes_key_unwrap(master.secret, wrapped)
        except InvalidUnwrap as exc:
            raise DecryptionFailed("the wrapped data key was altered") from exc

    def rotate(self) -> str:
        """Add a new newest key (old ones stay, so old envelopes still open)."""
        keys = self._read() if self.path.exists() else []
        new = _new_master_key()
        self._write([new, *keys], replace=bool(keys))
        return new.key_id

    def keys(self) -> list[MasterKey]:
        if not self.path.exists():
            if not self._create:
                raise VaultNotConfigured(
                    f"the token key file {self.path} does not exist (make one with "
                    "`truss tokens rotate`, or set TRUSS_TOKEN_KMS_KEY_ID)"
                )
            with contextlib.suppress(FileExistsError):  # another process made it first
                self._write([_new_master_key()], replace=False)
        return self._read()

    def _read(self) -> list[MasterKey]:
        try:
            data = json.loads(self.path.read_text())
            keys = [
                MasterKey(str(k["id"]), base64.b64decode(k["key"]), int(k["created_at"]))
                for k in data["keys"]
            ]
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise VaultNotConfigured(f"the token key file {self.path} is unreadable") from exc
        if not keys or any(len(k.secret) != 32 for k in keys):
            raise VaultNotConfigured(f"the token key file {self.path} holds no valid key")
        return keys

    def _write(self, keys: Sequence[MasterKey], replace: bool) -> None:
        """Write 0600; a replacement goes through a temporary file and an atomic rename."""
        body = json.dumps(
            {
                "keys": [
                    {"id": k.key_id, "created_at": k.created_at, "key": _b64(k.secret)}
                    for k in keys
                ]
            },
            indent=1,
        ).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        target = self.path.with_name(self.path.name + ".new") if replace else self.path
        if replace and target.exists():
            target.unlink()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(target, self.path)


def _new_master_key() -> MasterKey:
    created = int(time.time())
    return MasterKey(f"k{created}-{secrets.token_hex(4)}", AESGCM.generate_key(256), created)


@dataclass(frozen=True)
class VaultSettings:
    """Which master key seals tokens; from the Flask config (TRUSS_TOKEN_* settings)."""

    kms_key_id: str = ""
    key_file: str = ""
    create_key_file: bool = False
    region: str = "us-east-1"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> VaultSettings:
        return cls(
            kms_key_id=config.get("TOKEN_KMS_KEY_ID", ""),
            key_file=config.get("TOKEN_KEY_FILE", ""),
            create_key_file=bool(config.get("TOKEN_KEY_FILE_CREATE", False)),
            region=config.get("AWS_REGION", "us-east-1"),
        )


def make_vault(settings: VaultSettings, kms: Any = None) -> Vault:
    """KMS seals when a KMS key is set (the key file, if there is one, still opens tokens
    sealed before the switch); else the key file; else VaultNotConfigured."""
    key_file = (
        KeyFileProvider(Path(settings.key_file), settings.create_key_file)
        if settings.key_file
        else None
    )
    if settings.kms_key_id:
        client = kms if kms is not None else kms_client(settings.region)
        current = KmsKeyProvider(client, settings.kms_key_id)
        return Vault(current, [key_file] if key_file else [])
    if key_file is not None:
        return Vault(key_file)
    raise VaultNotConfigured(
        "platform tokens need a master key: set TRUSS_TOKEN_KMS_KEY_ID (AWS KMS) or "
        "TRUSS_TOKEN_KEY_FILE (a local key file)"
    )
