"""Where finished videos live: a local directory by default, S3, GCS or Azure by URL (obstore).

How a save stays whole and in constant memory is told in :mod:`.objects`.

Modules: ``objects`` (:class:`Storage`, the few operations vidgate needs), ``stores`` (opening a
store from its URL), ``copying`` (bytes from a blocking source on their own threads, into a
store or a local file), ``orphans`` (leftovers of a killed process), ``private`` (local files 0600
and directories 0700, checked at start-up). The names below load their module when first used, so
importing one module of this package does not load obstore.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vidgate.storage.copying import ByteSource, FileDigest, fill_file
    from vidgate.storage.objects import TEMP_PREFIX, Storage, StoredObject
    from vidgate.storage.orphans import ORPHAN_AGE, remove_orphans

__all__ = [
    "ORPHAN_AGE",
    "TEMP_PREFIX",
    "ByteSource",
    "FileDigest",
    "Storage",
    "StoredObject",
    "fill_file",
    "remove_orphans",
]

_HOMES = {
    "ByteSource": "copying",
    "FileDigest": "copying",
    "fill_file": "copying",
    "TEMP_PREFIX": "objects",
    "Storage": "objects",
    "StoredObject": "objects",
    "ORPHAN_AGE": "orphans",
    "remove_orphans": "orphans",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'vidgate.storage' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vidgate.storage.{_HOMES[name]}"), name)
