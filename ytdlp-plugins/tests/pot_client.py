"""One yt-dlp process asking for a PO token, as a download would.

    python pot_client.py '{"url": …, "key": …, "context": "player", "video_id": …}'

Optional: "visitor_data", "start_at" (a Unix time to wait for, so that
several processes ask at the same moment), "trace", "default_plugins".
Prints {"token": …, "lines": […]} (what yt-dlp logged) as JSON.
"""

import json
import sys
import time

import harness


def main():
    args = json.loads(sys.argv[1])
    harness.load_plugins(with_default=args.get('default_plugins', False))
    request = harness.pot_request(
        args['context'], video_id=args.get('video_id'), visitor_data=args.get('visitor_data'))
    with harness.Session(args['url'], args['key'], trace=args.get('trace', False)) as session:
        if 'start_at' in args:
            time.sleep(max(0.0, args['start_at'] - time.time()))
        token = session.get_po_token(request)
    print(json.dumps({'token': token, 'lines': session.log.lines}))


if __name__ == '__main__':
    main()
