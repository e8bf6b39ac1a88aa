"""The network hub: a small HTTP server on PostgreSQL that holds every member's sealed rows, and the
site's client for it (``haven hub sync URL``).

The hub keeps ciphertext rows and the members' public keys only: no site of origin per row, no log of
uploads, and no physical order or transaction id that groups one push's rows (haven/store/hub.py).
Sites reconcile with it over the locator space (haven/sync/reconcile.py), so a sync costs what differs.
"""

RESHUFFLE_AFTER_S = 3.0  # quiet time after the last push before the hub rewrites its rows (haven/store/hub.py)
