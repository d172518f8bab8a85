"""Opening an obstore store from a URL: a local directory, memory, S3, GCS or Azure."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from obstore.store import LocalStore, MemoryStore, ObjectStore
from obstore.store import from_url as store_from_url

from vidgate.errors import ConfigurationError

__all__ = ["open_store"]

_CLOUD_SCHEMES = frozenset({"s3", "s3a", "gs", "az", "azure", "abfs", "abfss", "adl"})
# obstore takes these as HTTP client options, not store configuration.
_CLIENT_OPTIONS = frozenset(
    {
        "allow_http",
        "allow_invalid_certificates",
        "connect_timeout",
        "default_content_type",
        "default_headers",
        "pool_idle_timeout",
        "pool_max_idle_per_host",
        "proxy_url",
        "proxy_ca_certificate",
        "proxy_excludes",
        "randomize_addresses",
        "read_timeout",
        "root_certificate",
        "timeout",
        "user_agent",
    }
)


def open_store(
    url: str, options: Mapping[str, Any] | None = None
) -> tuple[ObjectStore, Path | None]:
    """The store ``url`` names, and its directory when it is a local one.

    A bad URL or option raises :class:`~vidgate.errors.ConfigurationError`.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("file", ""):
        # A bare path is a local directory too.
        path = url2pathname(urlsplit(url).path) if scheme else url
        root = Path(path).expanduser().resolve()
        try:
            store = LocalStore(root, mkdir=True, automatic_cleanup=True)
        except OSError as exc:
            raise ConfigurationError(f"storage directory {root}: {exc}") from exc
        return store, root
    if scheme == "memory":
        return MemoryStore(), None
    if scheme not in _CLOUD_SCHEMES:
        raise ConfigurationError(
            f"unsupported storage URL {url!r}: use file://, s3://, gs:// or az://"
        )
    config: dict[str, Any] = {}
    client: dict[str, Any] = {}
    for name, value in (options or {}).items():
        bare = name.lower().split("_", 1)[-1]
        if name.lower() in _CLIENT_OPTIONS or bare in _CLIENT_OPTIONS:
            client[name.lower() if name.lower() in _CLIENT_OPTIONS else bare] = value
        else:
            config[name.lower()] = value
    try:
        cloud = store_from_url(url, client_options=client or None, **config)  # type: ignore[arg-type]
    except Exception as exc:
        raise ConfigurationError(f"storage URL {url!r}: {exc}") from exc
    except BaseException as exc:
        # obstore panics (a BaseException) on an option it does not know.
        if type(exc).__name__ != "PanicException":
            raise
        raise ConfigurationError(f"storage URL {url!r}: {exc}") from None
    return cloud, None
