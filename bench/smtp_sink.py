"""An SMTP server that accepts every message and writes one line per recipient (address, hash of the body):
`python -m bench.smtp_sink PORT FILE`, stopped with SIGTERM."""
from __future__ import annotations

import hashlib
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    """aiosmtpd handler: accept the message, note each recipient with a hash of the content."""

    def __init__(self, path: str):
        self.out = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the server's life
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        digest = hashlib.sha1(envelope.content).hexdigest()  # noqa: S324 - a fingerprint, not security
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.out.write(f"{rcpt} {digest}\n")
        return "250 OK"


def main() -> None:
    """Serve until SIGTERM."""
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(path), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("smtp sink ready", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
