"""What the two emulator rooms (Image Analysis 4.0 and Azure ML) run on, written once.

- :mod:`.hosting`: the HTTP server's life (bind, start in a thread or serve in the
  foreground, stop) and the speed clock's timeline kept across restarts.
- :mod:`.gateway`: pieces of the raw ASGI layer (answer capture, dropped connections,
  error sending, bounded bodies, the request-log entry, the fault-injection step).
- :mod:`.admin`: the ``/_emulator`` routes every room has (health, clock, requests, faults).
- :mod:`.sqlite`: the SQLite store's connection, lock and ``meta`` table.

Each room keeps its own wire contract (routes, error shapes, auth) and records.
The clocks, fault injector and request log are shared too; they live beside this
package (:mod:`reconcile.emulator.clock`, ``.faults``, ``.requestlog``).
"""
