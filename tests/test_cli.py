"""The command-line tools an operator uses."""

from sqlalchemy import func, select

from register.auth.models import User
from register.auth.passwords import check_password
from register.extensions import db
from tests.conftest import reload


def test_create_admin_creates_an_account_with_a_password(app, runner):
    result = runner.invoke(args=["create-admin", "Lead@Example.org"],
                           input="quartz-meadow-trumpet\nquartz-meadow-trumpet\n")
    assert result.exit_code == 0, result.output
    assert "Created administrator lead@example.org" in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "lead@example.org"))
        assert user.is_admin and user.verified
        assert check_password(user.password_hash, "quartz-meadow-trumpet")


def test_create_admin_promotes_an_existing_account(app, runner, make_user):
    user = make_user("member@example.org")
    result = runner.invoke(args=["create-admin", "member@example.org"])
    assert result.exit_code == 0 and "Promoted" in result.output
    assert reload(app, User, user.id).is_admin


def test_create_admin_refuses_a_weak_password(app, runner):
    result = runner.invoke(args=["create-admin", "lead@example.org"],
                           input="password12\npassword12\n")
    assert result.exit_code != 0
    assert "common" in result.output or "guess" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_data_loads_once_and_only_in_development(app, runner):
    app.testing = False  # as in production
    try:
        refused = runner.invoke(args=["demo-data"])
        app.config["REGISTER_ENV"] = "development"
        first = runner.invoke(args=["demo-data", "--mentors", "5", "--if-empty"])
        again = runner.invoke(args=["demo-data", "--if-empty"])
    finally:
        app.testing = True
    assert refused.exit_code != 0 and "only in development" in refused.output
    assert first.exit_code == 0, first.output
    assert "admin@example.org" in first.output
    assert "already has accounts" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 10
        admin = db.session.scalar(select(User).where(User.email == "admin@example.org"))
        assert admin.is_admin and check_password(admin.password_hash, "mentoring-demo-2026")


def test_import_refuses_a_file_with_a_nul_byte(app, runner, tmp_path):
    path = tmp_path / "mentors.csv"
    path.write_text("email,name\nada@example.org,Ada\x00 Lovelace\n", encoding="utf-8")
    result = runner.invoke(args=["import-mentors", str(path)])
    assert result.exit_code != 0
    assert "NUL byte" in result.output and "nothing was imported" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_search_sync_on_a_fresh_database_says_it_built_the_index(app, runner):
    built = runner.invoke(args=["search", "sync"])
    assert built.exit_code == 0, built.output
    assert built.output.startswith("Built the search index from every published profile")
    assert "Applied 0 changes" not in built.output
    again = runner.invoke(args=["search", "sync"])
    assert again.exit_code == 0, again.output
    assert again.output.startswith("The index was already up to date")
