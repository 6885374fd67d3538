"""gunicorn's settings for this application (`make run` and the README's production command use this file)."""

# gunicorn answers a request line longer than this with its own HTML 400 before the application sees it;
# at its maximum (8190) the application's own limit (MAX_URL_LENGTH, 4096 by default) answers first, with
# a 414 in the API's JSON shape or as a page
limit_request_line = 8190
