"""Another site's page can neither write to the club nor read it: on a real tree, with real HTTP
requests (what a browser sends, written by hand) and in a real browser (a page of another origin
served by the test itself)."""

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
DEADLINE_MS = 10_000


def _membres(sql) -> list[str]:
    return [row[0] for row in sql.execute("SELECT nom FROM membres ORDER BY id").fetchall()]


def test_a_simple_cross_site_post_is_refused_and_applies_nothing(web, http, sql):
    forged = {"Content-Type": "text/plain", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = http.post("/api/membres", content=b'{"nom":"Injected by another site"}', headers=forged)
    assert refused.status_code == 403 and refused.json()["code"] == "cross_site", refused.text
    plain = http.post("/api/membres", content=b'{"nom":"Injected as text"}', headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415 and plain.json()["code"] == "unsupported_media_type", plain.text
    assert _membres(sql) == []
    created = http.post("/api/membres", json={"nom": "Marie"})
    assert created.status_code == 201, "a client that is not a browser keeps working unchanged"
    assert _membres(sql) == ["Marie"]


def test_a_host_header_of_another_name_is_refused_reads_included(web, http, sql):
    tree, url = web
    port = url.rsplit(":", 1)[1]
    assert http.post("/api/membres", json={"nom": "Marie"}).status_code == 201
    rebound = {"Host": f"rebind.evil.example:{port}"}
    read = http.get("/api/membres", headers=rebound)
    assert read.status_code == 421 and read.json()["code"] == "misdirected_request", read.text
    assert "Marie" not in read.text
    write = http.post("/api/membres", json={"nom": "Injected by rebinding"}, headers=rebound)
    assert write.status_code == 421
    assert _membres(sql) == ["Marie"]
    assert http.get("/api/membres", headers={"Host": f"localhost:{port}"}).status_code == 200


EVIL_PAGE = """<!doctype html><title>Another site</title>
<form id="forged" method="post" enctype="text/plain" action="{target}/api/membres">
<input name='{{"nom":"Forged by a form' value='"}}'></form>
<script>
fetch("{target}/api/membres", {{method: "POST", headers: {{"Content-Type": "text/plain"}},
                                 body: '{{"nom":"Forged by fetch"}}'}})
  .then(answer => "fetch answered " + answer.status, error => "fetch refused: " + error)
  .then(outcome => {{ console.log(outcome); window.fetchOutcome = outcome; }});
</script>"""


@contextmanager
def _other_origin(page: str) -> Iterator[str]:
    """A second HTTP server of the test's own, on another port and another name (localhost
    against the web program's 127.0.0.1): what a page of another site is to the browser."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_page_of_another_origin_cannot_change_the_club_from_a_real_browser(web, sql, browser):
    tree, url = web
    with _other_origin(EVIL_PAGE.format(target=url)) as evil:
        browser.page.goto(evil)
        outcome = browser.page.wait_for_function("() => window.fetchOutcome", timeout=DEADLINE_MS).json_value()
        assert outcome.startswith("fetch refused: TypeError"), outcome
        with browser.page.expect_navigation(url=f"{url}/api/membres", timeout=DEADLINE_MS):
            browser.page.evaluate("document.getElementById('forged').submit()")
        shown = browser.page.text_content("body") or ""
    assert '"code":"cross_site"' in shown.replace(" ", ""), shown
    assert any("403" in line for line in browser.troubles), browser.troubles
    assert _membres(sql) == [], "nothing the other page sent was applied"
    browser.screenshot("cross-site-refused")
