"""PO tokens for YouTube from Kachay's token service.

The Kachay server runs a token service on 127.0.0.1 and hands yt-dlp its
address as `--extractor-args "youtubepot-kachay:url=…;mint=1"` and its key in
the environment, as KACHAY_POT_KEY (a command line is visible to every user
of the machine and printed by `yt-dlp -v`); `key=…` in the extractor
arguments works too, for running yt-dlp by hand.
Two providers use it: KachayPTP asks it for PO tokens (it mints them through
the configured minter, once per binding, and caches them), KachayPCP keeps
yt-dlp's PO-token cache in it, so that the many short-lived yt-dlp processes
of one server share their tokens.

Only the public API of yt-dlp's PO Token Provider framework is used. On a
yt-dlp without it, this module defines nothing and yt-dlp runs as before.
"""

from __future__ import annotations

import functools
import json
import os
import time
import urllib.parse

# Taken out of the environment as soon as yt-dlp loads the plugin, so that
# the processes yt-dlp starts (ffmpeg, deno) do not inherit it.
_KEY_FROM_ENVIRONMENT = os.environ.pop('KACHAY_POT_KEY', None) or None

try:
    from yt_dlp.cookies import YoutubeDLCookieJar
    from yt_dlp.extractor.youtube.pot.cache import (
        PoTokenCacheProvider,
        PoTokenCacheProviderError,
    )
    from yt_dlp.extractor.youtube.pot.cache import register_preference as register_cache_preference
    from yt_dlp.extractor.youtube.pot.cache import register_provider as register_cache_provider
    from yt_dlp.extractor.youtube.pot.provider import (
        ExternalRequestFeature,
        PoTokenContext,
        PoTokenProvider,
        PoTokenProviderError,
        PoTokenProviderRejectedRequest,
        PoTokenRequest,
        PoTokenResponse,
        register_preference,
        register_provider,
    )
    from yt_dlp.extractor.youtube.pot.utils import WEBPO_CLIENTS, get_webpo_content_binding
    from yt_dlp.networking.common import Request
    from yt_dlp.networking.exceptions import HTTPError, RequestError
    from yt_dlp.utils import traverse_obj
except ImportError:  # a yt-dlp without the PO Token Provider framework
    pass
else:
    __version__ = '1.0.0'

    # The service gives a mint 30 s (BotGuard in the minter can be slow) and
    # then answers with the reason: waiting longer than that lets its answer
    # arrive. The cache only looks a key up.
    _MINT_TIMEOUT = 45.0
    _CACHE_TIMEOUT = 5.0

    def _one_line(text, limit=300):
        text = ' '.join(str(text).split())
        return text if len(text) <= limit else text[:limit - 1] + '…'

    def _unix_time(value):
        return value if type(value) is int else None  # not a bool, not a float

    def _error_answer(error: HTTPError):
        """The `code` and the `error` sentence of the service's error answer, if it has them."""
        try:
            answer = json.loads(error.response.read(64 * 1024))
        except (RequestError, ValueError):
            answer = None
        finally:
            error.close()
        return traverse_obj(answer, ('code', {str})), traverse_obj(answer, ('error', {str}, {_one_line}))

    class _KachayService:
        """Settings and requests shared by KachayPTP and KachayPCP.

        Both read the same extractor arguments, `youtubepot-kachay`, as their
        class names give both the provider key `Kachay`.
        """

        PROVIDER_NAME = 'kachay'
        PROVIDER_VERSION = __version__
        BUG_REPORT_LOCATION = 'https://github.com/kachay/kachay/issues'

        def _setting(self, name):
            return next(iter(self._configuration_arg(name, casesense=True)), None) or None

        @functools.cached_property
        def _base_url(self):
            url = self._setting('url')
            return url and url.rstrip('/')

        @functools.cached_property
        def _key(self):
            return self._setting('key') or _KEY_FROM_ENVIRONMENT

        def _service_request(self, method, path, body=None, *, timeout):
            headers = {'Authorization': f'Bearer {self._key}'}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers['Content-Type'] = 'application/json'
            return Request(
                f'{self._base_url}{path}', data=data, headers=headers, method=method,
                # The service is on loopback: no proxy of the user's (that one
                # is for YouTube, and the minter gets it in the body), and an
                # empty cookie jar, so that no YouTube cookie reaches it.
                proxies={'all': None},
                extensions={'timeout': timeout, 'cookiejar': YoutubeDLCookieJar()})

    @register_provider
    class KachayPTP(_KachayService, PoTokenProvider):
        _SUPPORTED_CLIENTS = WEBPO_CLIENTS
        _SUPPORTED_CONTEXTS = (
            PoTokenContext.GVS,
            PoTokenContext.PLAYER,
            PoTokenContext.SUBS,
        )
        # The minter behind the service fetches from YouTube itself, through
        # the proxy and from the source address given in the request.
        _SUPPORTED_EXTERNAL_REQUEST_FEATURES = (
            ExternalRequestFeature.PROXY_SCHEME_HTTP,
            ExternalRequestFeature.PROXY_SCHEME_HTTPS,
            ExternalRequestFeature.PROXY_SCHEME_SOCKS4,
            ExternalRequestFeature.PROXY_SCHEME_SOCKS4A,
            ExternalRequestFeature.PROXY_SCHEME_SOCKS5,
            ExternalRequestFeature.PROXY_SCHEME_SOCKS5H,
            ExternalRequestFeature.SOURCE_ADDRESS,
            ExternalRequestFeature.DISABLE_TLS_VERIFICATION,
        )

        @functools.cached_property
        def _available(self):
            # mint=1: the server has a minter; without one, only the cache is used.
            return bool(self._base_url and self._key and self._setting('mint') == '1')

        def is_available(self):
            return self._available

        def _real_request_pot(self, request: PoTokenRequest) -> PoTokenResponse:
            binding, binding_type = get_webpo_content_binding(request)
            if not binding:
                raise PoTokenProviderRejectedRequest(
                    'Kachay needs a content binding (visitor data, data sync ID or video ID) for this request')

            body = {
                'context': request.context.value,
                'client': traverse_obj(request.innertube_context, ('client', 'clientName')),
                'internal_client': request.internal_client_name,
                'content_binding': binding,
                'content_binding_type': binding_type.value,
                'ip': traverse_obj(request.innertube_context, ('client', 'remoteHost')),
                'proxy': request.request_proxy,
                'source_address': request.request_source_address,
                'verify_tls': request.request_verify_tls,
                'bypass_cache': request.bypass_cache,
                'innertube_context': request.innertube_context,
                'video_id': request.video_id,
                'challenge': None,
            }
            self.logger.trace(
                f'POST {self._base_url}/v1/pot: {body["context"]} token for {body["client"]}, '
                f'bound to {binding_type.value} {binding}, bypass_cache={request.bypass_cache}')
            try:
                # Without pot_request: it would merge the proxy, the cookies
                # and the headers of the YouTube request into this one, and
                # all three are for YouTube, not for a service on loopback.
                with self._request_webpage(
                    self._service_request('POST', '/v1/pot', body, timeout=_MINT_TIMEOUT),
                    note=f'Requesting {request.context.value} PO Token '
                         f'for {request.internal_client_name} client from Kachay',
                ) as response:
                    answer = json.load(response)
            except HTTPError as e:
                raise self._failure(e) from e
            except RequestError as e:
                raise PoTokenProviderError(
                    f"Kachay's token service at {self._base_url} does not answer: {_one_line(e.msg)}",
                    expected=True) from e
            except ValueError as e:
                raise PoTokenProviderError(
                    "Kachay's token service gave an unexpected answer: its body is not JSON",
                    expected=False) from e

            po_token = traverse_obj(answer, ('po_token', {str}))
            expires_at = traverse_obj(answer, ('expires_at', {_unix_time}))
            if not po_token or expires_at is None:
                raise PoTokenProviderError(
                    "Kachay's token service gave an unexpected answer: no po_token or expires_at",
                    expected=False)
            if expires_at <= time.time():
                raise PoTokenProviderError(
                    f"Kachay's token service gave an unexpected answer: a token that expired at {expires_at}",
                    expected=False)
            origin = 'from its cache' if answer.get('cached') else 'minted now'
            self.logger.trace(f'Got a token {origin}, expiring at {expires_at}')
            return PoTokenResponse(po_token=po_token, expires_at=expires_at)

        def _failure(self, error: HTTPError):
            code, sentence = _error_answer(error)
            self.logger.trace(f"Kachay's token service answered HTTP {error.status} ({code}): {sentence}")
            if error.status == 401:
                return PoTokenProviderError(
                    "Kachay's token service refused the credential (HTTP 401): "
                    'the key in youtubepot-kachay is not the one this server runs with',
                    expected=True)
            if error.status == 422 and code == 'unsupported':
                return PoTokenProviderRejectedRequest(
                    f"Kachay's token service does not support this request: {sentence}")
            if error.status in (502, 503, 504):
                return PoTokenProviderError(
                    f"Kachay's token service could not get a PO token: {sentence or f'HTTP {error.status}'}",
                    expected=True)
            return PoTokenProviderError(
                f"Kachay's token service gave an unexpected answer: HTTP {error.status}"
                + (f': {sentence}' if sentence else ''),
                expected=False)

    @register_preference(KachayPTP)
    def kachay_ptp_preference(provider, request):
        # Above the bgutil providers (bgutil:http has 130): with both
        # installed, the server's own service is asked first.
        return 500

    @register_cache_provider
    class KachayPCP(_KachayService, PoTokenCacheProvider):

        def is_available(self):
            return bool(self._base_url and self._key)

        def get(self, key: str):
            self.logger.trace(f'GET {self._base_url}/v1/cache/{key}')
            status, data = self._exchange('GET', key)
            if status == 404:
                return None
            try:
                answer = json.loads(data)
            except ValueError as e:
                raise PoTokenCacheProviderError(
                    "Kachay's token cache gave an unexpected answer: its body is not JSON",
                    expected=False) from e
            value = traverse_obj(answer, ('value', {str}))
            expires_at = traverse_obj(answer, ('expires_at', {_unix_time}))
            if value is None or expires_at is None:
                raise PoTokenCacheProviderError(
                    "Kachay's token cache gave an unexpected answer: no value or expires_at",
                    expected=False)
            # The service should not hand out an expired entry; yt-dlp
            # requires that none is ever returned, so this is checked here too.
            if expires_at <= time.time():
                self.logger.trace(f'The entry expired at {expires_at}')
                return None
            return value

        def store(self, key: str, value: str, expires_at: int):
            if expires_at <= time.time():
                self.logger.trace(f'Not storing {key}: it expired at {expires_at}')
                return
            self.logger.trace(f'PUT {self._base_url}/v1/cache/{key} (expires at {expires_at})')
            self._exchange('PUT', key, {'value': value, 'expires_at': expires_at})

        def delete(self, key: str):
            self.logger.trace(f'DELETE {self._base_url}/v1/cache/{key}')
            self._exchange('DELETE', key)

        def _exchange(self, method, key, body=None):
            """The status and body of the service's answer: 2xx or 404; anything else raises."""
            # yt-dlp's keys are sha256 hex digests; quoted all the same, so
            # that any key stays one path segment (the service checks it).
            path = f'/v1/cache/{urllib.parse.quote(key, safe="")}'
            try:
                with self.ie._downloader.urlopen(
                        self._service_request(method, path, body, timeout=_CACHE_TIMEOUT)) as response:
                    return response.status, response.read()
            except HTTPError as e:
                if e.status == 404:
                    e.close()
                    return 404, b''
                raise self._failure(e) from e
            except RequestError as e:
                raise PoTokenCacheProviderError(
                    f"Kachay's token cache at {self._base_url} does not answer: {_one_line(e.msg)}",
                    expected=True) from e

        def _failure(self, error: HTTPError):
            code, sentence = _error_answer(error)
            self.logger.trace(f"Kachay's token cache answered HTTP {error.status} ({code}): {sentence}")
            if error.status == 401:
                return PoTokenCacheProviderError(
                    "Kachay's token cache refused the credential (HTTP 401): "
                    'the key in youtubepot-kachay is not the one this server runs with',
                    expected=True)
            if error.status in (400, 413):
                return PoTokenCacheProviderError(
                    f"Kachay's token cache refused the entry: HTTP {error.status}"
                    + (f': {sentence}' if sentence else ''),
                    expected=True)
            return PoTokenCacheProviderError(
                f"Kachay's token cache gave an unexpected answer: HTTP {error.status}"
                + (f': {sentence}' if sentence else ''),
                expected=False)

    @register_cache_preference(KachayPCP)
    def kachay_pcp_preference(provider, request):
        # Below yt-dlp's memory cache (10000), which must stay first: a
        # lookup here costs a request to the service, one there nothing.
        return 100
