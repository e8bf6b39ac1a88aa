"""A site's sync with the hub in a process of its own, so that a test can kill it mid-transfer:
``python -m tests.hub.sync_process SITE_DB URL`` with the site's signing key in ``$HUB_TEST_SIGNING_KEY``."""

from __future__ import annotations

import os
import sys

from cryptography.hazmat.primitives.asymmetric import ed25519

from haven.hub.client import HubConnection, sync_with_hub
from haven.hub.wire import Signer
from haven.store.sqlite import SQLiteStore


def main() -> None:
    path, url = sys.argv[1], sys.argv[2]
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(os.environ["HUB_TEST_SIGNING_KEY"]))
    store = SQLiteStore(path)
    conn = HubConnection(url, Signer(key))
    try:
        done = sync_with_hub(store, conn)
    finally:
        conn.close()
        store.close()
    print(done.pulled, done.pushed)


if __name__ == "__main__":
    main()
