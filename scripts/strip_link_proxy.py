#!/usr/bin/env python3
"""A loopback proxy for the GitHub conformance check.

Prism answers with the OpenAPI description's example `Link` header, which
points at https://api.github.com/resource?page=2 — a placeholder, not a
page of the mock. lifeline rightly refuses to follow a pagination link to
another host (its token must never leave the configured API), so this
proxy drops `Link` from Prism's answers and passes everything else through
unchanged. Every exchange is appended to LOG as one line:
`METHOD PATH STATUS VIOLATIONS` (VIOLATIONS is Prism's `sl-violations`
header, `-` when absent), written before the answer goes back, so the
check never depends on Prism flushing its own log.

Usage: strip_link_proxy.py LISTEN_PORT UPSTREAM_PORT LOG
"""
import http.client
import http.server
import sys

LISTEN, UPSTREAM, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError:
            # Prism is not up yet.
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        violations = resp.getheader("sl-violations") or "-"
        if not self.path.startswith("/rate_limit"):
            with open(LOG, "a", encoding="utf-8") as log:
                log.write(f"{self.command} {self.path} {resp.status} {violations}\n")
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("link", "transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = forward

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", LISTEN), Proxy).serve_forever()
