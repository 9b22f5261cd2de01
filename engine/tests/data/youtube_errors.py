"""Prints the stderr yt-dlp's command line gives for a YouTube video whose
player response carries a given playability status, without any network:
YoutubeIE._initial_extract is replaced by one that returns that response, so
everything after it (the reason/subreason handling in _real_extract, the
geo-restriction error, the login hint, the CLI's ERROR line) is yt-dlp's own.

usage: python youtube_errors.py CASE VIDEO_ID
       KACHAY_ERROR_URL=http://127.0.0.1:PORT/k/status=429/watch/main python youtube_errors.py http-429 VIDEO_ID
"""
import os
import sys

import yt_dlp
from yt_dlp.extractor.youtube._video import YoutubeIE


def text(s):
    return {'simpleText': s}


CASES = {
    # reason/subreason texts as YouTube sends them (see README.md for sources)
    'bot-check': {'status': 'LOGIN_REQUIRED', 'reason': 'Sign in to confirm you’re not a bot',
                  'errorScreen': {'playerErrorMessageRenderer': {
                      'reason': text('Sign in to confirm you’re not a bot'),
                      'subreason': text('This helps protect our community. Learn more')}}},
    'private': {'status': 'LOGIN_REQUIRED', 'reason': 'Private video',
                'errorScreen': {'playerErrorMessageRenderer': {
                    'reason': text('Private video'),
                    'subreason': text("Sign in if you've been granted access to this video")}}},
    'members-only': {'status': 'LOGIN_REQUIRED',
                     'reason': 'Join this channel to get access to members-only content like this video, and other exclusive perks.'},
    'age-restricted': {'status': 'LOGIN_REQUIRED', 'reason': 'Sign in to confirm your age',
                       'errorScreen': {'playerErrorMessageRenderer': {
                           'reason': text('Sign in to confirm your age'),
                           'subreason': text('This video may be inappropriate for some users.')}}},
    'geo-blocked': {'status': 'UNPLAYABLE', 'reason': 'Video unavailable',
                    'errorScreen': {'playerErrorMessageRenderer': {
                        'reason': text('Video unavailable'),
                        'subreason': text('The uploader has not made this video available in your country')}}},
    'removed-by-uploader': {'status': 'ERROR', 'reason': 'Video unavailable',
                            'errorScreen': {'playerErrorMessageRenderer': {
                                'reason': text('Video unavailable'),
                                'subreason': text('This video has been removed by the uploader')}}},
    'account-terminated': {'status': 'ERROR', 'reason': 'Video unavailable',
                           'errorScreen': {'playerErrorMessageRenderer': {
                               'reason': text('Video unavailable'),
                               'subreason': text('This video is no longer available because the YouTube account associated with this video has been terminated.')}}},
    'video-unavailable': {'status': 'ERROR', 'reason': 'Video unavailable',
                          'errorScreen': {'playerErrorMessageRenderer': {'reason': text('Video unavailable')}}},
    'live-not-started': {'status': 'LIVE_STREAM_OFFLINE', 'reason': 'This live event will begin in 2 days.'},
    'premiere': {'status': 'LIVE_STREAM_OFFLINE', 'reason': 'Premieres in 6 hours'},
    'rate-limited': {'status': 'UNPLAYABLE', 'reason': "This content isn't available, try again later."},
}

case, video_id = sys.argv[1], sys.argv[2]
status = CASES.get(case, {})
response = {'playabilityStatus': status}
if case == 'geo-blocked':
    response['microformat'] = {'playerMicroformatRenderer': {'availableCountries': ['DE', 'AT']}}


def fake_initial_extract(self, url, smuggled_data, webpage_url, webpage_client, video_id):
    if case.startswith('http-'):
        # A real HTTP error answer from a local server (the fixture site's
        # status knob), fetched the way the YouTube extractor fetches pages.
        self._download_webpage(os.environ['KACHAY_ERROR_URL'], video_id)
    return None, {}, {}, False, [response], None


YoutubeIE._initial_extract = fake_initial_extract
sys.exit(yt_dlp.main(['--ignore-config', '--no-update', '--no-cache-dir', '-J', '--no-playlist',
                      '--', f'https://www.youtube.com/watch?v={video_id}']))
