"""How the plugin talks to the service, against a scripted stand-in for it:
what it sends (and what it keeps out), and how it reads every kind of answer,
including those the real server gives only when something is wrong."""

import http.cookiejar
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from harness import Session, free_port, new_video_id, new_visitor_data, pot_request
from yt_dlp.extractor.youtube.pot.cache import PoTokenCacheProviderError
from yt_dlp.extractor.youtube.pot.provider import PoTokenProviderError, PoTokenProviderRejectedRequest


class ScriptedService:
    """Answers each request with the next scripted (status, body, headers); records the requests."""

    def __init__(self):
        self.script = []
        self.requests = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _serve(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                service.requests.append({
                    'method': self.command, 'path': self.path, 'headers': self.headers, 'body': body})
                status, payload, headers = service.script.pop(0)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self._server.server_address[1]}'
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, status, payload=b'', **headers):
        self.script.append((status, payload, headers))

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def service():
    service = ScriptedService()
    yield service
    service.close()


def later(seconds=3600):
    return int(time.time()) + seconds


def test_request_carries_the_key_and_nothing_meant_for_youtube(service):
    service.answer(200, {'po_token': 'AAAA', 'expires_at': later(), 'cached': False},
                   **{'Set-Cookie': 'service=1; Path=/'})
    visitor_data = new_visitor_data()
    # The user's proxy is dead: the service must be reached directly.
    with Session(service.url, 'the-key', proxy=f'http://127.0.0.1:{free_port()}') as session:
        jar = session.ydl.cookiejar
        jar.set_cookie(http.cookiejar.Cookie(
            0, 'youtube_session', 'secret', None, False, '127.0.0.1', True, False, '/', True,
            False, None, False, None, None, {}))
        cookies_before = len(jar)
        response = session.provider.request_pot(pot_request('gvs', visitor_data=visitor_data))

        assert response.po_token == 'AAAA'
        [request] = service.requests
        assert (request['method'], request['path']) == ('POST', '/v1/pot')
        assert request['headers']['Authorization'] == 'Bearer the-key'
        assert request['headers']['Content-Type'] == 'application/json'
        assert 'Cookie' not in request['headers']
        assert len(jar) == cookies_before, "the service's cookie went into yt-dlp's cookie jar"

    body = json.loads(request['body'])
    assert body == {
        'context': 'gvs', 'client': 'WEB', 'internal_client': 'web',
        'content_binding': visitor_data, 'content_binding_type': 'visitor_data',
        'ip': '203.0.113.7', 'proxy': None, 'source_address': None, 'verify_tls': True,
        'bypass_cache': False, 'innertube_context': body['innertube_context'],
        'video_id': None, 'challenge': None,
    }
    assert body['innertube_context']['client']['visitorData'] == visitor_data


def test_player_token_is_bound_to_the_video(service):
    service.answer(200, {'po_token': 'AAAA', 'expires_at': later(), 'cached': True})
    video_id = new_video_id()
    with Session(service.url, 'the-key') as session:
        session.provider.request_pot(pot_request('player', video_id=video_id, source_address='192.0.2.1'))
    body = json.loads(service.requests[0]['body'])
    assert (body['content_binding'], body['content_binding_type']) == (video_id, 'video_id')
    assert (body['video_id'], body['source_address']) == (video_id, '192.0.2.1')


def test_request_without_binding_is_left_to_other_providers(service):
    with Session(service.url, 'the-key') as session, pytest.raises(PoTokenProviderRejectedRequest):
        session.provider.request_pot(pot_request('gvs'))
    assert service.requests == []


@pytest.mark.parametrize('status, payload, expected, prefix', [
    (401, {'error': 'Wrong key.', 'code': 'unauthorized'}, True,
     "Kachay's token service refused the credential (HTTP 401)"),
    (503, {'error': 'No PO-token minter is configured.', 'code': 'no_minter'}, True,
     "Kachay's token service could not get a PO token: No PO-token minter is configured."),
    (502, {'error': 'The PO-token minter at http://127.0.0.1:4416 did not answer\n(connection refused).',
           'code': 'minter_failed'}, True,
     "Kachay's token service could not get a PO token: "
     'The PO-token minter at http://127.0.0.1:4416 did not answer (connection refused).'),
    (400, {'error': 'No content_binding.', 'code': 'bad_request'}, False,
     "Kachay's token service gave an unexpected answer: HTTP 400: No content_binding."),
    (500, b'<html>oops</html>', False, "Kachay's token service gave an unexpected answer: HTTP 500"),
    (200, b'<html>not json</html>', False, "Kachay's token service gave an unexpected answer: its body is not JSON"),
    (200, {'po_token': 'AAAA'}, False, "Kachay's token service gave an unexpected answer: no po_token or expires_at"),
    (200, {'po_token': 'AAAA', 'expires_at': 1_000_000_000}, False,
     "Kachay's token service gave an unexpected answer: a token that expired at 1000000000"),
])
def test_failures_are_one_line_errors_naming_kachay(service, status, payload, expected, prefix):
    service.answer(status, payload)
    with Session(service.url, 'the-key') as session, pytest.raises(PoTokenProviderError) as raised:
        session.provider.request_pot(pot_request('player', video_id=new_video_id()))
    assert str(raised.value).startswith(prefix)
    assert raised.value.expected is expected
    assert '\n' not in str(raised.value) and 'the-key' not in str(raised.value)


def test_unsupported_request_is_left_to_other_providers(service):
    service.answer(422, {'error': 'Not for this client.', 'code': 'unsupported'})
    with Session(service.url, 'the-key') as session, pytest.raises(PoTokenProviderRejectedRequest) as raised:
        session.provider.request_pot(pot_request('player', video_id=new_video_id()))
    assert str(raised.value) == "Kachay's token service does not support this request: Not for this client."


def test_cache_requests(service):
    service.answer(204)
    service.answer(200, {'value': 'v', 'expires_at': later()})
    service.answer(204)
    expires_at = later()
    with Session(service.url, 'the-key', proxy=f'http://127.0.0.1:{free_port()}') as session:
        session.cache.store('a/b', 'v', expires_at)
        assert session.cache.get('a/b') == 'v'
        session.cache.delete('a/b')

    assert [(r['method'], r['path']) for r in service.requests] == [
        ('PUT', '/v1/cache/a%2Fb'), ('GET', '/v1/cache/a%2Fb'), ('DELETE', '/v1/cache/a%2Fb')]
    assert all(r['headers']['Authorization'] == 'Bearer the-key' for r in service.requests)
    assert json.loads(service.requests[0]['body']) == {'value': 'v', 'expires_at': expires_at}


def test_cache_never_returns_an_expired_entry(service):
    service.answer(200, {'value': 'v', 'expires_at': int(time.time()) - 1})
    with Session(service.url, 'the-key') as session:
        assert session.cache.get('k') is None


@pytest.mark.parametrize('status, payload, expected, prefix', [
    (401, {'error': 'Wrong key.', 'code': 'unauthorized'}, True, "Kachay's token cache refused the credential"),
    (400, {'error': 'The key is not 1-128 characters of A-Za-z0-9_-.', 'code': 'bad_request'}, True,
     "Kachay's token cache refused the entry: HTTP 400: The key is not 1-128 characters of A-Za-z0-9_-."),
    (200, {'value': 'v'}, False, "Kachay's token cache gave an unexpected answer: no value or expires_at"),
    (200, b'nope', False, "Kachay's token cache gave an unexpected answer: its body is not JSON"),
    (500, b'', False, "Kachay's token cache gave an unexpected answer: HTTP 500"),
])
def test_cache_failures_are_errors_naming_kachay(service, status, payload, expected, prefix):
    service.answer(status, payload)
    with Session(service.url, 'the-key') as session, pytest.raises(PoTokenCacheProviderError) as raised:
        session.cache.get('k')
    assert str(raised.value).startswith(prefix)
    assert raised.value.expected is expected
