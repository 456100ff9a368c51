"""The landing page."""

from flask import Response, current_app, jsonify
from flask_login import current_user

from register.main import bp
from register.mentors.services import profile_of
from register.web import render


@bp.get("/")
def index():
    """What the register is and how to start."""
    return render("main/index.html")


# The pages every service owes its users, linked from the footer -----------------------


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement: what we aim for, what is known, how to ask for help."""
    return render("main/accessibility.html")


@bp.get("/privacy")
def privacy():
    """The privacy notice: what is stored, for how long, who sees it, how to delete it."""
    return render("main/privacy.html")


@bp.get("/contact")
def contact():
    """How to reach the register's coordinators."""
    return render("main/contact.html")


@bp.app_context_processor
def _site_context():
    """Who runs the register, and (asked only when a page needs it) the visitor's profile."""
    def own_profile():
        return profile_of(current_user) if current_user.is_authenticated else None

    return {"organisation_name": current_app.config.get("ORGANISATION_NAME", ""),
            "contact_email": current_app.config.get("CONTACT_EMAIL", ""),
            "own_profile": own_profile}


# Health, for load balancers and operators -----------------------------------------------


@bp.get("/healthz")
def healthz():
    """Liveness: this process answers. Asks nothing of the database, so it stays cheap."""
    return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.get("/readyz")
def readyz():
    """Readiness, as JSON without personal data: 503 unless the database answers, its
    schema is the code's, and this host's index opens and reads. The mail queue and the
    worker's heartbeat are reported too; they warn without taking the host out."""
    from register import operations

    checks: dict = {"database": _check_database()}
    if checks["database"]["ok"]:
        checks["schema"] = operations.schema_state()
        checks["outbox"] = operations.outbox_summary()
        checks["worker"] = operations.worker_summary()
    checks["index"] = _check_index()
    ready = all(checks[name]["ok"] for name in ("database", "schema", "index") if name in checks)
    ready = ready and "schema" in checks
    warnings = [name for name in ("outbox", "worker") if name in checks and not checks[name]["ok"]]
    body = {"ready": ready, "warnings": warnings, "checks": checks}
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_database() -> dict:
    from time import monotonic

    from sqlalchemy import text

    from register.extensions import db
    from register.web import outage_kind

    started = monotonic()
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001  (any failure means not ready)
        db.session.rollback()
        return {"ok": False, "error": outage_kind(error)}
    return {"ok": True, "milliseconds": round((monotonic() - started) * 1000, 1)}


def _check_index() -> dict:
    from register.search import index

    try:
        documents = index.searcher().doc_count()
        problems = index.damage() if hasattr(index, "damage") else []
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": str(error)[:200]}
    return {"ok": not problems, "documents": documents, "problems": problems[:5]}


@bp.app_template_global("background_workers")
def background_workers():
    """Every worker's last heartbeat, for the admin dashboard (a stopped one stands out)."""
    from register import operations

    return operations.workers()
