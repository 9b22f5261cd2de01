"""What a yt-dlp user sees of the plugin: the providers it lists, the order it asks them in."""

import importlib.metadata
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from harness import PLUGIN_DIRS, PLUGIN_FILE, free_port, new_video_id, run_clients


def test_ytdlp_lists_kachay_and_never_prints_the_key(kachay):
    run = subprocess.run([
        sys.executable, '-m', 'yt_dlp', '-v', '--ignore-config', '--no-cache-dir',
        '--plugin-dirs', str(PLUGIN_DIRS),
        # As the server runs it: the key in the environment, not on the command line.
        '--extractor-args', f'youtubepot-kachay:url={kachay.url};mint=1',
        '--extractor-args', 'youtube:pot_trace=true',
        # Nothing reaches YouTube: the providers are listed before the first request.
        '--proxy', f'http://127.0.0.1:{free_port()}', '--extractor-retries', '0', '--socket-timeout', '5',
        '--simulate', '--', 'https://www.youtube.com/watch?v=jNQXAC9IVRw',
    ], capture_output=True, text=True, timeout=120, env={**os.environ, 'KACHAY_POT_KEY': kachay.key})
    lines = (run.stdout + run.stderr).splitlines()

    listed = r'{}: (?:.*, )?kachay-1\.0\.0 \(external\)(?:,|$)'
    assert [line for line in lines if re.search(listed.format('PO Token Providers'), line)], run.stderr
    assert [line for line in lines if re.search(listed.format('PO Token Cache Providers'), line)], run.stderr
    # yt-dlp -v echoes its command line ("Command-line config"), which is why
    # the key is not on it: no line shows the key.
    assert [line for line in lines if kachay.key in line] == []


def test_server_runs_ytdlp_with_this_plugin(kachay):
    assert '--plugin-dirs' in kachay.argv
    assert kachay.url.startswith('http://127.0.0.1:') and kachay.mint == '1'
    copies = [path for directory in kachay.plugin_dirs
              for path in Path(directory).glob('*/yt_dlp_plugins/extractor/kachay_pot.py')]
    assert copies, f'no <package>/yt_dlp_plugins/extractor/kachay_pot.py in the --plugin-dirs {kachay.plugin_dirs}'
    assert copies[0].read_bytes() == PLUGIN_FILE.read_bytes(), 'the server carries another version of the plugin'
    service = kachay.health()['pot_service']
    assert service['provider_loaded'] and service['cache_loaded'], f'yt-dlp did not load the plugin: {service}'


def test_kachay_is_asked_before_bgutil(kachay, minter):
    try:
        importlib.metadata.distribution('bgutil-ytdlp-pot-provider')
    except importlib.metadata.PackageNotFoundError:
        pytest.skip('bgutil-ytdlp-pot-provider is not installed next to yt-dlp')

    [answer] = run_clients({'url': kachay.url, 'key': kachay.key, 'context': 'player', 'video_id': new_video_id(),
                            'trace': True, 'default_plugins': True})
    lines = answer['lines']

    preferences = next(line for line in lines if 'TRACE: Provider preferences for this request:' in line)
    preference = dict((name, int(value)) for name, value in re.findall(r'([\w:.-]+)=(-?\d+)', preferences))
    assert 'bgutil:http' in preference, preferences
    assert all(preference['kachay'] > value for name, value in preference.items() if name.startswith('bgutil')), \
        preferences
    attempts = [line for line in lines if 'Attempting to fetch a PO Token from' in line]
    assert '"kachay"' in attempts[0]
    assert answer['token'] and minter.mints == 1


def test_on_a_ytdlp_without_the_framework_the_plugin_defines_nothing(monkeypatch):
    # None in sys.modules makes that import fail, as on a yt-dlp older than the framework.
    monkeypatch.setitem(sys.modules, 'yt_dlp.extractor.youtube.pot.provider', None)
    namespace = runpy.run_path(str(PLUGIN_FILE))
    assert not [name for name in namespace if name.startswith(('Kachay', 'kachay'))]


def test_the_key_leaves_the_environment_when_the_plugin_loads():
    # yt-dlp's children (ffmpeg, deno running YouTube's player code) must not
    # inherit the service's key.
    script = (
        'import os, runpy, sys\n'
        'plugin = runpy.run_path(sys.argv[1])\n'
        'print(plugin["_KEY_FROM_ENVIRONMENT"], os.environ.get("KACHAY_POT_KEY"))\n')
    run = subprocess.run([sys.executable, '-c', script, str(PLUGIN_FILE)], capture_output=True, text=True,
                         env={**os.environ, 'KACHAY_POT_KEY': 'k3y'}, timeout=60)
    assert run.stdout.split() == ['k3y', 'None'], run.stderr
