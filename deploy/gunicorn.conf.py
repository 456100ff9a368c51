"""gunicorn's settings for the register: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

The number of workers comes from WEB_CONCURRENCY (gunicorn reads it), and
command-line options still win over these.
"""

import gc

timeout = 30  # a request that takes longer is stuck; the worker is replaced
graceful_timeout = 20


def post_worker_init(worker):
    """Compile the templates and read the search index's filters, field lengths and
    postings directories before the first request, so the first people to search after
    a deploy or restart do not wait for it."""
    from register import web
    from register.search.services import warm

    app = worker.wsgi
    if not hasattr(app, "app_context"):  # gunicorn's stand-in for an app that failed to load
        return
    try:
        with app.app_context():
            web.warm(app)
            if not warm():
                worker.log.info("Search not warmed: the index cannot be read yet")
    except Exception:  # warming only saves time; a worker must still serve without it
        worker.log.exception("Search not warmed")
    # What is loaded by now lives as long as the worker: keep the garbage collector's
    # full passes from walking it again and again (each would stall a request).
    gc.freeze()
