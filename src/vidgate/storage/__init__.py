"""Where finished videos live: a local directory by default, S3, GCS or Azure by URL (obstore).

A save streams in constant memory (multipart upload of ``part_size`` parts, ``max_concurrency``
of them in flight), hashes on the fly, and writes under a temporary key first (``tmp/<uuid>``);
only a complete object is renamed or copied to its final key, so a crash or a failing source
never leaves a partial file where a reader would find it. Abandoned temporary objects are removed
by :meth:`Storage.cleanup_temporary`. (Incomplete S3 multipart uploads are aborted by obstore on
error; a bucket lifecycle rule should still expire them in case the process dies.)

Credentials and endpoints come from the URL, from ``options``, or from the provider's standard
environment variables (``AWS_*``, ``GOOGLE_*``, ``AZURE_*``), which obstore reads itself.

Modules: ``objects`` (:class:`Storage`, the few operations vidgate needs), ``stores`` (opening a
store from its URL), ``copying`` (bytes from a blocking source on their own threads), ``orphans``
(leftovers of a killed process). The names below load their module when first used, so importing
one module of this package does not load obstore.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vidgate.storage.copying import ByteSource
    from vidgate.storage.objects import TEMP_PREFIX, Storage, StoredObject
    from vidgate.storage.orphans import ORPHAN_AGE, remove_orphans

__all__ = ["ORPHAN_AGE", "TEMP_PREFIX", "ByteSource", "Storage", "StoredObject", "remove_orphans"]

_HOMES = {
    "ByteSource": "copying",
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
