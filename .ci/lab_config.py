"""Jupyter config that `.ci/lab` passes (--config): closing the browser leaves no traceback in the terminal.

When a tab closes, messages already on their way to it (a widget streaming updates, kernel status) meet a
closed websocket; tornado raises WebSocketClosedError / StreamClosedError and the server logs the
traceback. Nothing is wrong: the client left. These records are dropped; every other is kept.
"""
import logging

_CLOSED = ("WebSocketClosedError", "StreamClosedError")


class ClosedSocketFilter(logging.Filter):
    """Drops log records about writing to a websocket whose browser tab has gone."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ in _CLOSED:
            return False
        return not any(name in record.getMessage() for name in _CLOSED)


for _name in ("asyncio", "tornado.application", "tornado.general", "tornado.websocket", "ServerApp", "LabApp"):
    logging.getLogger(_name).addFilter(ClosedSocketFilter())
