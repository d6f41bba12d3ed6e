"""A small Label Studio REST client: authentication, bounded retries, clear errors.

Why not the SDK for the calls kracht makes: push and pull need to know exactly which requests are
safe to repeat (a bulk import that timed out may or may not have created its tasks), need one
clear line when the token is wrong, and must never let the token reach a log or an exception
text. A thin ``httpx`` client makes those rules explicit; the endpoints used are the stable public
REST API (``/api/projects``, ``/api/projects/{id}/import``, ``/api/tasks``, ``/api/dm/actions``,
``/api/projects/{id}/export``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

log = logging.getLogger(__name__)

#: statuses that mean "the server is (temporarily) unwell", worth another try
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class LabelStudioError(RuntimeError):
    """Any failure talking to Label Studio; the message is one line and holds no secret."""


class LabelStudioAuthError(LabelStudioError):
    """The server refused the token."""


class LabelStudioUnavailable(LabelStudioError):
    """The server did not answer (or kept answering 5xx) within the retry budget."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in tries so a dead server fails in seconds."""

    tries: int = 5
    base: float = 0.5
    cap: float = 8.0

    def delays(self) -> Iterator[float]:
        for attempt in range(self.tries - 1):
            delay = min(self.cap, self.base * (2**attempt))
            yield delay * (0.75 + random.random() / 2)


def redact(text: str, token: SecretStr | str | None) -> str:
    """Remove the token from a text that may be shown or logged."""
    if token is None:
        return text
    raw = token.get_secret_value() if isinstance(token, SecretStr) else token
    return text.replace(raw, "***") if raw else text


class LabelStudioClient:
    """One connection to one Label Studio server; create it per command and close it after."""

    def __init__(
        self,
        url: str,
        token: SecretStr | str,
        *,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url:
            raise LabelStudioError(
                "no Label Studio URL configured (set KRACHT_LS_URL or ls_url in kracht.toml)"
            )
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        if not self._token.get_secret_value():
            raise LabelStudioError("no Label Studio token configured (set KRACHT_LS_TOKEN)")
        self.url = url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            headers={"Authorization": f"Token {self._token.get_secret_value()}"},
        )

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"LabelStudioClient(url={self.url!r}, token=***)"

    # --- transport ----------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        safe_to_repeat: bool | None = None,
    ) -> Any:
        """Send one request and return its JSON (or None), retrying only where that is safe.

        A request that never reached the server (connection refused, connect timeout) is always
        retried. One that may have been processed (read timeout, 5xx) is retried only when it is
        safe to repeat: GET, PATCH and DELETE by default; a POST only when the caller says so. The
        caller of a non-repeatable POST (bulk import) reconciles with the server instead.
        """
        if safe_to_repeat is None:
            safe_to_repeat = method.upper() != "POST"
        delays = self.retry.delays()
        while True:
            try:
                response = self._http.request(method, path, json=json, params=params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = f"cannot connect to Label Studio at {self.url} ({type(exc).__name__})"
                if not self._backoff(delays, failure):
                    raise LabelStudioUnavailable(self._clean(failure)) from None
                continue
            except httpx.TransportError as exc:
                failure = (
                    f"Label Studio at {self.url} broke off {method} {path} ({type(exc).__name__})"
                )
                if not safe_to_repeat or not self._backoff(delays, failure):
                    raise LabelStudioUnavailable(self._clean(failure)) from None
                continue
            if response.status_code in RETRY_STATUSES:
                failure = (
                    f"Label Studio at {self.url} answered {response.status_code} to {method} {path}"
                )
                if not safe_to_repeat or not self._backoff(delays, failure):
                    raise LabelStudioUnavailable(self._clean(failure))
                continue
            return self._decode(response, method, path)

    def _backoff(self, delays: Iterator[float], failure: str) -> bool:
        delay = next(delays, None)
        if delay is None:
            return False
        log.warning("%s; retrying in %.1f s", self._clean(failure), delay)
        self._sleep(delay)
        return True

    def _decode(self, response: httpx.Response, method: str, path: str) -> Any:
        if response.status_code == 401:
            raise LabelStudioAuthError(
                f"Label Studio rejected the token (401) at {self.url}: check KRACHT_LS_TOKEN "
                "(the legacy API token must be enabled on the server)"
            )
        if response.status_code == 403:
            raise LabelStudioAuthError(
                f"Label Studio refused {method} {path} (403): the token's user lacks permission"
            )
        if response.status_code >= 400:
            body = self._clean(response.text[:300].replace("\n", " "))
            raise LabelStudioError(
                f"Label Studio answered {response.status_code} to {method} {path}: {body}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def _clean(self, text: str) -> str:
        return redact(text, self._token)

    # --- endpoints ----------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        """Check the server and the token in one call."""
        return self.request("GET", "/api/current-user/whoami")

    def projects(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.request("GET", "/api/projects", params={"page": page, "page_size": 100})
            if isinstance(body, list):
                return body
            out.extend(body.get("results", []))
            if not body.get("next"):
                return out
            page += 1

    def find_project(self, title: str) -> dict[str, Any] | None:
        matches = [p for p in self.projects() if p.get("title") == title]
        return min(matches, key=lambda p: p["id"]) if matches else None

    def create_project(self, title: str, label_config: str, description: str = "") -> dict:
        if len(title) < 3:
            raise LabelStudioError("Label Studio project titles need at least 3 characters")
        # repeating a create after a lost answer would make a second project; the caller
        # looks the project up by title first, so a retry here goes through find_project again
        return self.request(
            "POST",
            "/api/projects",
            json={"title": title, "label_config": label_config, "description": description},
        )

    def get_project(self, project_id: int) -> dict[str, Any]:
        return self.request("GET", f"/api/projects/{project_id}")

    def update_project(self, project_id: int, **fields: Any) -> dict[str, Any]:
        return self.request("PATCH", f"/api/projects/{project_id}", json=fields)

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        """Bulk import (not safe to repeat blindly: the caller reconciles on failure)."""
        return self.request(
            "POST",
            f"/api/projects/{project_id}/import",
            json=tasks,
            params={"commit_to_project": "true", "return_task_ids": "true"},
            safe_to_repeat=False,
        )

    def import_predictions(self, project_id: int, predictions: list[dict[str, Any]]) -> Any:
        return self.request(
            "POST",
            f"/api/projects/{project_id}/import/predictions",
            json=predictions,
            safe_to_repeat=False,
        )

    def delete_predictions(self, project_id: int, task_ids: list[int]) -> Any:
        """Remove the predictions of these tasks (repeatable: deleting twice is harmless)."""
        return self.request(
            "POST",
            "/api/dm/actions",
            params={"id": "delete_tasks_predictions", "project": project_id},
            json={"selectedItems": {"all": False, "included": task_ids}, "project": project_id},
            safe_to_repeat=True,
        )

    def iter_tasks(
        self, project_id: int, page_size: int = 1000, include: str = "id,data"
    ) -> Iterator[dict[str, Any]]:
        """Every task of a project with only the ``include`` fields, page by page."""
        page = 1
        params: dict[str, Any] = {
            "project": project_id,
            "page_size": page_size,
            "include": include,
            "resolve_uri": "false",
        }
        if "predictions" in include or "annotations" in include:
            params["fields"] = "all"
        while True:
            try:
                body = self.request("GET", "/api/tasks", params={**params, "page": page})
            except LabelStudioError as exc:
                if " 404 " in f" {exc} " and page > 1:  # past the last page
                    return
                raise
            tasks = body.get("tasks", []) if isinstance(body, dict) else body
            yield from tasks
            total = body.get("total") if isinstance(body, dict) else None
            last = total is not None and page * page_size >= total
            if not tasks or len(tasks) < page_size or last:
                return
            page += 1

    def predictions(self, project_id: int) -> list[dict[str, Any]]:
        """Every prediction in a project (one light request; much cheaper than listing tasks)."""
        body = self.request("GET", "/api/predictions", params={"project": project_id})
        if isinstance(body, dict):  # a paginated answer, should the server be set up that way
            out = list(body.get("results", []))
            page = 2
            while body.get("next"):
                body = self.request(
                    "GET", "/api/predictions", params={"project": project_id, "page": page}
                )
                out.extend(body.get("results", []))
                page += 1
            return out
        return body or []

    def export(self, project_id: int) -> list[dict[str, Any]]:
        """Annotated tasks with their annotations (JSON export; repeatable)."""
        body = self.request(
            "GET",
            f"/api/projects/{project_id}/export",
            params={"exportType": "JSON", "download_all_tasks": "false"},
        )
        return body or []

    def users(self) -> list[dict[str, Any]]:
        body = self.request("GET", "/api/users", params={"page_size": 1000})
        if isinstance(body, dict):
            return body.get("results", [])
        return body or []


def connect(settings: Any, **kwargs: Any) -> LabelStudioClient:
    """A client from kracht's settings; token from ``KRACHT_LS_TOKEN`` or the dev server's file."""
    from annotation.server import read_token, server_url

    url = settings.ls_url or server_url(settings)
    token = settings.ls_token or read_token(settings)
    if not url:
        raise LabelStudioError(
            "Label Studio is not configured: set KRACHT_LS_URL (or start one with "
            "`kracht review server start`)"
        )
    if token is None:
        raise LabelStudioError("no Label Studio token: set KRACHT_LS_TOKEN")
    return LabelStudioClient(url, token, **kwargs)
