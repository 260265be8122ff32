"""A minimal HTTP/1.1 server answering every GET with --payload bytes of '*'.

It exists to show how any server joins a scaleup comparison (see docs/scenarios.md);
it is not meant to be fast.
"""
import argparse
import http.server
import signal
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--payload", type=int, default=40)
    args = parser.parse_args()
    body = b"*" * args.payload
    # One write per response: separate writes for headers and body meet Nagle's algorithm and
    # delayed ACKs, and every keep-alive request then waits about 40 ms.
    response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self.wfile.write(response)

        def log_message(self, format: str, *values: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            # Load tools reset their connections when a run ends; that is not worth a traceback.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server((args.host, args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
