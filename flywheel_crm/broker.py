"""kombu's Redis transport, mended so that a worker outlives a restart of Redis.

Celery 5.7.0 / kombu 5.7.0 kill the worker when Redis goes away while the worker holds
unacknowledged tasks (one running with acks_late, or one waiting for its countdown):

1. On the connection error the consumer calls `Connection.collect()`. Closing the default
   channel fails there (its BRPOP read raises: Redis is gone), so the channel stays open,
   and `collect()` then drops the transport's `client`.
2. The consumer then calls `connection.close()`, which closes that channel again. Its pools
   are gone by now, so restoring the unacknowledged tasks ("Restoring N unacknowledged
   message(s)") builds a new pool from `transport.client.hostname`, and `client` is None:
   `AttributeError: 'NoneType' object has no attribute 'hostname'`. `ignore_errors` lets
   only connection errors through, so the error ends the worker ("Unrecoverable error").

Here the channel keeps the connection details it was opened with, so that last restore
either succeeds or fails with a connection error, which the consumer ignores. And the tasks
it could not restore (Redis was down) are restored as soon as the worker reconnects, rather
than an hour later when their visibility timeout runs out. Restoring a task that was acked
meanwhile does nothing (kombu restores by tag from the `unacked` hash, in a transaction); a
task still running when the worker reconnects is delivered again, as kombu's own restore on
a broken connection does, which our tasks allow: they lock their row and skip work done.

Selected by CELERY_BROKER_TRANSPORT in settings; the broker URL stays `redis://`.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

logger = logging.getLogger(__name__)

# Delivery tags whose restore failed because Redis was unreachable (one consumer process).
_unrestored: set[str] = set()


class QoS(kombu_redis.QoS):
    """Remembers the tasks it failed to hand back to the queue when the connection broke."""

    def restore_unacked(self, client: Any = None) -> None:
        tags = list(self._delivered)
        try:
            super().restore_unacked(client)
        except self.channel.connection_errors:
            _unrestored.update(tags)
            logger.warning(
                "Redis unreachable: %d unacknowledged task(s) will be restored on reconnect",
                len(tags),
            )
            raise


class Channel(kombu_redis.Channel):
    """A Redis channel that can still reach Redis while it is closed after a broken
    connection, and that restores on opening what a broken one could not."""

    QoS = QoS

    def __init__(self, connection: Any, *args: Any, **kwargs: Any) -> None:
        # Kept before anything else: closing may come after collect() dropped it.
        self._conninfo = connection.client
        super().__init__(connection, *args, **kwargs)
        self._restore_unrestored()

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        transport = self.connection
        if transport.client is not None:
            return super()._connparams(asynchronous=asynchronous)
        transport.client = self._conninfo
        try:
            return super()._connparams(asynchronous=asynchronous)
        finally:
            transport.client = None

    def _restore_unrestored(self) -> None:
        if not _unrestored:
            return
        logger.info(
            "Restoring %d task(s) a broken connection left unacknowledged", len(_unrestored)
        )
        for tag in list(_unrestored):
            try:
                self.qos.restore_by_tag(tag)
            except self.connection_errors:
                return  # still unreachable: the next channel tries again
            _unrestored.discard(tag)


class Transport(kombu_redis.Transport):
    Channel = Channel
