"""A fake OpenID provider (Google-like) and GitHub-like OAuth 2 server on 127.0.0.1, in a thread.

Real HTTP, so the real authlib client does discovery, fetches the JWKS, exchanges the code
(checking the PKCE verifier against the S256 challenge it was sent) and validates a signed
id_token. Knobs let a test change the next id_token's claims or make the token endpoint fail.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import threading
import time
from dataclasses import MISSING, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "truss-test-client"
CLIENT_SECRET = "truss-test-secret"


@functools.cache
def signing_key() -> RSAKey:
    """One RSA key per test run: generating it is the slow part."""
    return RSAKey.generate_key(2048, {"kid": "test-key"})


@dataclass
class Grant:
    """What the authorize endpoint was asked, remembered under the code it handed out."""

    params: dict[str, str]
    subject: str


@dataclass
class FakeProvider:
    key: RSAKey = field(default_factory=lambda: signing_key())
    grants: dict[str, Grant] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    subject: str = "google-sub-1"
    claims: dict[str, Any] = field(default_factory=dict)  # overrides for the next id_tokens
    token_status: int = 200
    github_user: dict[str, Any] = field(
        default_factory=lambda: {"id": 4242, "login": "octo", "name": "Octo Cat"}
    )
    github_emails: list[dict[str, Any]] = field(
        default_factory=lambda: [{"email": "octo@example.com", "primary": True, "verified": True}]
    )
    github_token: str = ""
    server: ThreadingHTTPServer | None = None

    def reset(self) -> None:
        """Back to the defaults (no grants, no requests seen), keeping the key and the server:
        one server serves a whole test module."""
        for spec in fields(self):
            if spec.name in ("key", "server"):
                continue
            if spec.default_factory is not MISSING:
                setattr(self, spec.name, spec.default_factory())
            else:
                setattr(self, spec.name, spec.default)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def metadata_url(self) -> str:
        return self.url + "/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "jwks_uri": self.url + "/jwks",
            "userinfo_endpoint": self.url + "/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, params: dict[str, str]) -> str:
        """Consent granted: the URL the provider would send the browser back to."""
        self.authorize_requests.append(params)
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(params=params, subject=self.subject)
        query = urlencode({"code": code, "state": params.get("state", "")})
        return f"{params['redirect_uri']}?{query}"

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": grant.subject,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "nonce": grant.params.get("nonce"),
            "email": "ada@example.com",
            "email_verified": True,
            "name": "Ada Lovelace",
        }
        claims.update(self.claims)
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.key)

    def exchange(self, form: dict[str, str], basic_auth: str | None) -> tuple[int, dict[str, Any]]:
        """The token endpoint: client auth, code, redirect_uri and the PKCE verifier must match."""
        if self.token_status != 200:
            return self.token_status, {"error": "server_error"}
        client_id, client_secret = _client_credentials(form, basic_auth)
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or grant.params.get("redirect_uri") != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        if not _pkce_ok(grant.params, form.get("code_verifier", "")):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier mismatch"}
        access = secrets.token_urlsafe(16)
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
        if "openid" in grant.params.get("scope", ""):
            body["id_token"] = self.id_token(grant)
        else:
            self.github_token = access
        return 200, body

    def start(self) -> FakeProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/.well-known/openid-configuration":
                    self._json(200, provider.discovery())
                elif parts.path == "/jwks":
                    self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                elif parts.path in ("/authorize", "/login/oauth/authorize"):
                    self.send_response(302)
                    self.send_header("Location", provider.authorize(query))
                    self.end_headers()
                elif parts.path.startswith("/api/"):
                    self._github_api(parts.path[len("/api/") :])
                else:
                    self._json(404, {"error": "not_found"})

            def _github_api(self, path: str) -> None:
                bearer = self.headers.get("Authorization", "")
                if not provider.github_token or bearer != f"Bearer {provider.github_token}":
                    self._json(401, {"message": "Bad credentials"})
                elif path == "user":
                    self._json(200, provider.github_user)
                elif path == "user/emails":
                    self._json(200, provider.github_emails)
                else:
                    self._json(404, {"message": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                if urlsplit(self.path).path in ("/token", "/login/oauth/access_token"):
                    status, body = provider.exchange(form, self.headers.get("Authorization"))
                    self._json(status, body)
                else:
                    self._json(404, {"error": "not_found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _client_credentials(form: dict[str, str], basic_auth: str | None) -> tuple[str, str]:
    if basic_auth and basic_auth.startswith("Basic "):
        decoded = base64.b64decode(basic_auth[6:]).decode()
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _pkce_ok(params: dict[str, str], verifier: str) -> bool:
    if params.get("code_challenge_method") != "S256" or not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return secrets.compare_digest(expected, params.get("code_challenge", ""))
