"""gunicorn's gthread worker, accepting a connection only while it has a thread free.

A stock gthread worker accepts whatever connection reaches it while its threads
are busy, and a keep-alive connection stays with the worker that accepted it.
Whichever worker wins the accept race therefore keeps its clients for good:
under `make loadtest` (4 users, 4 workers × 1 thread) runs ended with the users
on 4, 3, 2 or even 1 worker, and the users sharing a worker waited for each
other (hybrid p50 14.8 ms spread, 22.6 ms piled up, same CPU per request).
Here a worker stops listening while all its threads are busy, so a new
connection goes to a worker that can serve it now. Kept-alive connections stay
as they are, and a connection beyond the threads of all workers is still
accepted by the first worker that frees a thread.
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

#: Error codes for the requests gunicorn rejects before the app sees them.
_PROTOCOL_ERROR_CODES = {
    400: "invalid_request",
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "request_header_fields_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` with the service's JSON error body instead of HTML."""
    message = f"{reason}: {mesg}" if mesg else reason
    code = _PROTOCOL_ERROR_CODES.get(status_int, "invalid_request")
    body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin1")
    util.write_nonblock(sock, head + body)


class BalancedThreadWorker(ThreadWorker):
    """``ThreadWorker`` that listens only while fewer requests than threads run.

    Every hook below runs on the worker's main (event loop) thread, so the
    count needs no lock.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running = 0

    def init_process(self) -> None:
        # Clients of a JSON API get JSON for oversize headers and bad request
        # lines too; gunicorn looks the writer up in ``util`` at call time.
        util.write_error = write_json_error
        super().init_process()

    def _has_free_thread(self) -> bool:
        return self._running < self.cfg.threads

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self._has_free_thread())

    def enqueue_req(self, conn: Any) -> None:
        self._running += 1
        if not self._has_free_thread():
            super().set_accept_enabled(False)
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        # The run loop re-enables accepting on its next turn (set_accept_enabled).
        self._running -= 1
        super().finish_request(conn, fs)
