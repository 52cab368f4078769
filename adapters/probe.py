"""The reachability probe: refuse to start a run when nothing accepts connections at the endpoint."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from .errors import RunStopped

PROXY_ENV = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def check_reachable(url: str, timeout: float, label: str) -> None:
    """Open and close one TCP connection to ``url``'s host and port (no request is sent).

    Skipped behind a proxy (the SDK connects through it, not directly) and for a URL without a host.

    Raises:
        RunStopped: nothing answers there; ``label`` (``provider:model``) names the adapter.
    """
    if any(os.environ.get(name) for name in PROXY_ENV):
        return
    parts = urlsplit(url)
    if not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=min(timeout, 10.0)).close()
    except OSError as err:
        raise RunStopped(
            f"{label}: nothing answers at {url} ({err.strerror or err}); start the server or correct base_url. "
            "No request was sent"
        ) from None
