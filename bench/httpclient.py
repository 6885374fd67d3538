"""A small HTTP client over http.client (no extra dependency): bearer tokens for the API, a signed-in
session (cookie and CSRF token) for the pages; each request timed."""
from __future__ import annotations

import http.client
import json
import re
import time
from typing import Any
from urllib.parse import urlencode

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client:
    """One connection's worth of requests (reconnects when the server closes it)."""

    def __init__(self, port: int, token: str | None = None):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.token = token
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: Any = None, *, form: dict | None = None
                ) -> tuple[int, bytes, float]:
        """(status, body, seconds)."""
        headers = {"Accept-Language": "zh"}
        data = None
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # a keep-alive connection the server dropped: retry once on a new one
                if attempt == 2:
                    raise
                started = time.perf_counter()
        elapsed = time.perf_counter() - started
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, payload, elapsed

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON body)."""
        status, payload, _ = self.request(method, path, body)
        return status, json.loads(payload) if payload else None

    def issue_token(self, username: str, password: str) -> str:
        """A bearer token from POST /api/v1/auth/token, kept for the next requests."""
        status, body = self.json("POST", "/api/v1/auth/token", {"username": username, "password": password})
        if status != 200:
            raise RuntimeError(f"no token for {username}: {status} {body}")
        self.token = body["token"]
        return self.token

    def sign_in(self, username: str, password: str) -> None:
        """A page session: fetch the login form's CSRF token, post the credentials."""
        status, page, _ = self.request("GET", "/login")
        found = CSRF.search(page.decode("utf-8", "replace"))
        form = {"username": username, "password": password}
        if found:
            form["csrf_token"] = found.group(1)
        status, _, _ = self.request("POST", "/login", form=form)
        if status not in (302, 303):
            raise RuntimeError(f"{username} could not sign in: {status}")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
