"""A scripted SMTP server (aiosmtpd 1.4.6) for outage tests.

    flaky_smtp.py --port PORT --spool DIR --fail N [--fail-at rcpt|data]

Listens on 127.0.0.1:PORT (plain SMTP, no TLS, no AUTH). The first N
transactions are refused with a temporary error at RCPT (450) or at the end
of DATA (451); every later message is accepted and written to DIR as
NNNN.eml (atomically: written to .tmp, then renamed). Prints "ready" on
stdout once it listens. Stops on SIGTERM.
"""

import argparse
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Flaky:
    def __init__(self, spool, fail, fail_at):
        self.spool = spool
        self.remaining = fail
        self.fail_at = fail_at
        self.accepted = 0
        self.lock = threading.Lock()

    def _fail_now(self):
        with self.lock:
            if self.remaining > 0:
                self.remaining -= 1
                return True
            return False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.fail_at == "rcpt" and not envelope.rcpt_tos and self._fail_now():
            return "450 4.2.0 Mailbox temporarily unavailable (scripted)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_at == "data" and self._fail_now():
            return "451 4.3.0 Temporary local problem (scripted)"
        with self.lock:
            self.accepted += 1
            n = self.accepted
        tmp = os.path.join(self.spool, f".{n:04d}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.spool, f"{n:04d}.eml"))
        return "250 2.0.0 Accepted (scripted)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--fail", type=int, default=0)
    ap.add_argument("--fail-at", choices=["rcpt", "data"], default="data")
    args = ap.parse_args()
    os.makedirs(args.spool, exist_ok=True)
    handler = Flaky(args.spool, args.fail, args.fail_at)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
