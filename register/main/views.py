"""The landing page."""

from register.main import bp
from register.web import render


@bp.get("/")
def index():
    """What the register is and how to start."""
    return render("main/index.html")
