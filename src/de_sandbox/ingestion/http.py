"""Reading a source over HTTP: every way a request can fail ends in one line naming the URL and what went wrong."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPResponse

from de_sandbox.ingestion.records import MalformedSourceError


class SourceUnavailable(MalformedSourceError):
    """The source did not answer usefully: an HTTP error status, no connection, or no answer in time."""


@contextmanager
def open_url(url: str, timeout: float, accept: str = "*/*") -> Iterator[HTTPResponse]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            yield response
    except urllib.error.HTTPError as error:
        detail = error.read()[:200].decode("utf-8", "replace").strip()
        raise SourceUnavailable(f"{url}: HTTP {error.code} {detail or error.reason}") from error
    except TimeoutError as error:
        raise SourceUnavailable(
            f"{url}: no answer within {timeout:g} s (INGESTION_HTTP_TIMEOUT_SECONDS)"
        ) from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError | socket.timeout):
            raise SourceUnavailable(
                f"{url}: no answer within {timeout:g} s (INGESTION_HTTP_TIMEOUT_SECONDS)"
            ) from error
        raise SourceUnavailable(f"{url}: cannot connect ({error.reason})") from error
