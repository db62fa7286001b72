"""Accounts for a hosted trainer: passwords, sessions, invitations, throttling and roles."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from razbor.accounts import (
    MAX_FAILURES_PER_NAME,
    AccountError,
    check_name,
    check_password,
    hash_password,
    password_matches,
    token_digest,
)
from razbor.practice import Trainer
from razbor.scheduling import Planner, SchedulerSettings
from razbor.storage.accounts import Accounts
from razbor.web.app import create_app

from .conftest import seed_deck

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def test_passwords_are_salted_argon2_hashes_that_only_the_password_opens():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and first != second
    assert password_matches(first, PASSWORD)
    assert not password_matches(first, PASSWORD + "!")
    assert not password_matches(None, PASSWORD)
    assert not password_matches("not a hash", PASSWORD)


def test_names_and_passwords_that_cannot_be_used_are_refused_with_the_reason():
    assert check_name("anna.k@school") == "anna.k@school"
    for bad in ("", "a", "-anna", "анна", "a b", "x" * 65, "../admin"):
        with pytest.raises(AccountError, match="2-64 characters"):
            check_name(bad)
    with pytest.raises(AccountError, match="at least 10"):
        check_password("short")
    with pytest.raises(AccountError, match="at most"):
        check_password("x" * 5000)


@pytest.fixture
def accounts(store):
    return Accounts(store)


def test_a_session_belongs_to_its_user_until_it_ends_expires_or_the_user_is_disabled(accounts):
    anna = accounts.add_user("anna", hash_password(PASSWORD), "member", NOW)
    accounts.start_session(anna.id, token_digest("t1"), NOW)
    assert accounts.session_user(token_digest("t1"), NOW) == anna
    assert accounts.session_user(token_digest("t2"), NOW) is None
    assert accounts.session_user(token_digest("t1"), NOW + timedelta(days=15)) is None
    accounts.end_session(token_digest("t1"))
    assert accounts.session_user(token_digest("t1"), NOW) is None

    accounts.start_session(anna.id, token_digest("t3"), NOW)
    accounts.set_active("anna", False)
    assert accounts.session_user(token_digest("t3"), NOW) is None
    accounts.set_active("anna", True)
    assert accounts.session_user(token_digest("t3"), NOW) is None, "disabling ended it for good"


def test_a_password_change_ends_every_other_session(accounts):
    anna = accounts.add_user("anna", hash_password(PASSWORD), "member", NOW)
    for token in ("laptop", "phone"):
        accounts.start_session(anna.id, token_digest(token), NOW)
    accounts.set_password(anna.id, hash_password("a new long password"),
                          keep_session=token_digest("laptop"))
    assert accounts.session_user(token_digest("laptop"), NOW) == anna
    assert accounts.session_user(token_digest("phone"), NOW) is None
    assert password_matches(accounts.password_hash(anna.id), "a new long password")


def test_names_are_unique(accounts):
    accounts.add_user("anna", hash_password(PASSWORD), "member", NOW)
    with pytest.raises(AccountError, match="taken"):
        accounts.add_user("anna", hash_password(PASSWORD), "admin", NOW)
    assert [member.user.role for member in accounts.members()] == ["member"]


def test_an_invitation_makes_one_account_with_its_role_and_then_is_spent(accounts):
    accounts.invite(token_digest("inv"), "admin", None, NOW)
    assert accounts.invitation_open(token_digest("inv"), NOW)
    boris = accounts.accept_invitation(token_digest("inv"), "boris", hash_password(PASSWORD), NOW)
    assert boris.role == "admin" and boris.active
    assert not accounts.invitation_open(token_digest("inv"), NOW)
    with pytest.raises(AccountError, match="used up, expired or unknown"):
        accounts.accept_invitation(token_digest("inv"), "carol", hash_password(PASSWORD), NOW)
    assert accounts.user_named("carol") is None


def test_an_invitation_expires_and_a_taken_name_leaves_it_unspent(accounts):
    accounts.add_user("anna", hash_password(PASSWORD), "member", NOW)
    accounts.invite(token_digest("inv"), "member", None, NOW)
    with pytest.raises(AccountError, match="taken"):
        accounts.accept_invitation(token_digest("inv"), "anna", hash_password(PASSWORD), NOW)
    assert accounts.invitation_open(token_digest("inv"), NOW)
    assert not accounts.invitation_open(token_digest("inv"), NOW + timedelta(days=8))


def test_failed_logins_are_counted_per_name_and_per_address_within_the_window(accounts):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.2"):
        accounts.start_login("anna", address, NOW)
    assert accounts.recent_failures("anna", "10.0.0.2", NOW) == (3, 2)
    accounts.forget_failure(accounts.start_login("anna", "10.0.0.2", NOW))
    assert accounts.recent_failures("anna", "10.0.0.2", NOW) == (3, 2)
    assert accounts.recent_failures("boris", "10.0.0.3", NOW) == (0, 0)
    assert accounts.recent_failures("anna", "10.0.0.2", NOW + timedelta(minutes=16)) == (0, 0)


# Over HTTP


@pytest.fixture
def hosted(sqlite_trainer):
    accounts = Accounts(sqlite_trainer.store)
    accounts.add_user("admin", hash_password(PASSWORD), "admin", NOW)
    accounts.add_user("anna", hash_password(PASSWORD), "member", NOW)
    app = create_app(sqlite_trainer, accounts=accounts)
    return app, accounts


def client_of(app, base_url="http://testserver") -> TestClient:
    return TestClient(app, base_url=base_url, follow_redirects=False)


def sign_in(client: TestClient, name: str, password: str = PASSWORD):
    return client.post("/login", data={"name": name, "password": password, "next": "/stats"})


def test_with_accounts_on_nothing_is_served_before_signing_in(hosted):
    app, _ = hosted
    client = client_of(app)
    page = client.get("/cards/batchnorm?topic=x")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fcards%2Fbatchnorm%3Ftopic%3Dx"
    api = client.get("/api/cards")
    assert api.status_code == 401 and "sign in" in api.json()["detail"]
    assert client.get("/login").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_signing_in_sets_a_protected_session_cookie_and_signing_out_ends_it(hosted):
    app, _ = hosted
    client = client_of(app, "https://testserver")
    response = sign_in(client, "anna")
    assert response.status_code == 303 and response.headers["location"] == "/stats"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    home = client.get("/")
    assert home.status_code == 200 and "anna" in home.text
    assert client.post("/logout").status_code == 303
    assert client.get("/").status_code == 303


def test_a_wrong_password_is_refused_and_repeated_guessing_is_throttled(hosted):
    app, _ = hosted
    client = client_of(app)
    for _ in range(MAX_FAILURES_PER_NAME):
        refused = sign_in(client, "anna", "wrong password!")
        assert refused.status_code == 401 and "Неверное имя или пароль" in refused.text
    throttled = sign_in(client, "anna")
    assert throttled.status_code == 429 and "15" in throttled.text
    assert "set-cookie" not in throttled.headers


@pytest.fixture
def hosted_on_each_database(store, clock):
    accounts = Accounts(store)
    accounts.add_user("anna", hash_password(PASSWORD), "member", NOW)
    trainer = Trainer(seed_deck(), store, Planner(SchedulerSettings(fuzz=False)), clock=clock)
    return create_app(trainer, accounts=accounts)


def test_guesses_sent_at_once_are_throttled_like_guesses_sent_in_turn(hosted_on_each_database):
    guesses = 3 * MAX_FAILURES_PER_NAME
    start = threading.Barrier(guesses)

    def guess(number: int) -> int:
        with client_of(hosted_on_each_database) as client:
            start.wait()
            return sign_in(client, "anna", f"wrong password {number}").status_code

    with ThreadPoolExecutor(guesses) as pool:
        statuses = sorted(pool.map(guess, range(guesses)))
    assert statuses == [401] * MAX_FAILURES_PER_NAME + [429] * (guesses - MAX_FAILURES_PER_NAME)


def test_right_logins_count_no_failure_and_impossible_names_are_wrong_logins(
        hosted_on_each_database):
    client = client_of(hosted_on_each_database)
    for _ in range(MAX_FAILURES_PER_NAME + 1):
        assert sign_in(client, "anna").status_code == 303
    for impossible in ("an\x00na", "a" * 200, "анна"):
        assert sign_in(client, impossible).status_code == 401


def test_the_login_form_only_redirects_within_the_site(hosted):
    app, _ = hosted
    client = client_of(app)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post("/login", data={"name": "anna", "password": PASSWORD,
                                               "next": target})
        assert response.headers["location"] == "/"


def test_a_member_changes_their_password_and_keeps_only_this_session(hosted):
    app, _ = hosted
    here, elsewhere = client_of(app), client_of(app)
    sign_in(here, "anna")
    sign_in(elsewhere, "anna")
    wrong = here.post("/account/password", data={"current": "nope", "new": "x" * 12,
                                                 "repeat": "x" * 12})
    assert wrong.status_code == 400
    short = here.post("/account/password", data={"current": PASSWORD, "new": "short",
                                                 "repeat": "short"})
    assert short.status_code == 400 and "at least 10" in short.text
    done = here.post("/account/password", data={"current": PASSWORD, "new": "x" * 12,
                                                "repeat": "x" * 12})
    assert done.status_code == 200
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 303
    assert sign_in(client_of(app), "anna", "x" * 12).status_code == 303


def test_guessing_the_current_password_is_throttled_like_signing_in(hosted):
    app, _ = hosted
    client = client_of(app)
    sign_in(client, "anna")
    guess = {"current": "a wrong guess", "new": "y" * 12, "repeat": "y" * 12}
    for _ in range(MAX_FAILURES_PER_NAME):
        assert client.post("/account/password", data=guess).status_code == 400
    refused = client.post("/account/password", data={**guess, "current": PASSWORD})
    assert refused.status_code == 429 and "15" in refused.text
    assert sign_in(client_of(app), "anna").status_code == 429


def test_an_admin_invites_a_member_who_joins_by_the_link_and_is_not_an_admin(hosted):
    app, _ = hosted
    admin = client_of(app)
    sign_in(admin, "admin")
    page = admin.post("/admin/invitations", data={"role": "member"})
    link = page.text.split('class="link" value="')[1].split('"')[0]
    assert link.startswith("http://testserver/join/")
    path = link.removeprefix("http://testserver")

    newcomer = client_of(app)
    assert newcomer.get(path).status_code == 200
    mismatch = newcomer.post(path, data={"name": "boris", "password": PASSWORD,
                                         "repeat": PASSWORD + "x"})
    assert mismatch.status_code == 400 and "differ" in mismatch.text
    joined = newcomer.post(path, data={"name": "boris", "password": PASSWORD,
                                       "repeat": PASSWORD})
    assert joined.status_code == 303 and newcomer.get("/").status_code == 200
    assert newcomer.get("/admin").status_code == 403
    assert client_of(app).get(path).status_code == 404, "the link works once"
    spent = client_of(app).post(path, data={"name": "carl", "password": PASSWORD,
                                            "repeat": PASSWORD})
    assert spent.status_code == 404 and "carl" not in admin.get("/admin").text
    assert "boris" in admin.get("/admin").text


def test_an_admin_deactivates_a_member_whose_session_stops_at_once(hosted):
    app, _ = hosted
    admin, anna = client_of(app), client_of(app)
    sign_in(admin, "admin")
    sign_in(anna, "anna")
    assert admin.post("/admin/users/anna/active", data={"active": "off"}).status_code == 303
    assert anna.get("/").status_code == 303
    assert sign_in(client_of(app), "anna").status_code == 401
    assert admin.post("/admin/users/admin/active", data={"active": "off"}).status_code == 400
    assert admin.post("/admin/users/nobody/active", data={"active": "off"}).status_code == 404
    assert admin.post("/admin/users/an%00na/active", data={"active": "off"}).status_code == 404


def test_the_admin_page_shows_what_the_team_misses_most(hosted, sqlite_trainer):
    app, accounts = hosted
    for name in ("anna", "admin"):
        user = accounts.user_named(name)
        sqlite_trainer.submit_attempt(user.id, "batchnorm", "mean and variance per channel",
                                      False, 30)
    admin = client_of(app)
    sign_in(admin, "admin")
    page = admin.get("/admin").text
    assert "bn.inference" in page and 'href="/cards/batchnorm"' in page
    points, cards = accounts.team_misses()
    assert points[0].attempts == 2 and points[0].people == 2 and cards[0].card_id == "batchnorm"


def test_without_accounts_there_is_no_login_and_no_admin_page(sqlite_trainer):
    client = client_of(create_app(sqlite_trainer))
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 404
    assert client.get("/admin").status_code == 404


# The command line


def razbor(*args: str, stdin: str = ""):
    from click.testing import CliRunner

    from razbor.cli import main

    return CliRunner().invoke(main, list(args), input=stdin, prog_name="razbor")


def test_an_admin_is_created_listed_disabled_and_reset_from_the_command_line(sqlite_url):
    created = razbor("user", "add", "teacher", "--admin", "--password-stdin", "--db", sqlite_url,
                     stdin=PASSWORD + "\n")
    assert created.exit_code == 0 and "added admin teacher" in created.output
    prompted = razbor("user", "add", "anna", "--db", sqlite_url,
                      stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    listed = razbor("user", "list", "--db", sqlite_url)
    assert re.search(r"anna\s+│\s+member\s+│\s+yes", listed.output)
    assert razbor("user", "disable", "anna", "--db", sqlite_url).exit_code == 0
    assert re.search(r"anna\s+│\s+member\s+│\s+no", razbor("user", "list", "--db", sqlite_url).output)
    reset = razbor("user", "password", "anna", "--password-stdin", "--db", sqlite_url,
                   stdin="another long password\n")
    assert reset.exit_code == 0
    from razbor.storage import Store

    store = Store.open(sqlite_url)
    accounts = Accounts(store)
    assert password_matches(accounts.credentials("anna")[1], "another long password")
    store.close()


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (("user", "add", "../x"), "", "NAME: a user name is 2-64 characters"),
    (("user", "add", "anna", "--password-stdin"), "short\n", "at least 10 characters"),
    (("user", "disable", "nobody"), "", "NAME: there is no user named 'nobody'"),
    (("user", "password", "nobody"), "", "NAME: there is no user named 'nobody'"),
])
def test_user_commands_refuse_bad_arguments_in_one_line(sqlite_url, args, stdin, message):
    result = razbor(*args, "--db", sqlite_url, stdin=stdin)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_taken_name_fails_without_touching_the_first_account(sqlite_url):
    razbor("user", "add", "anna", "--password-stdin", "--db", sqlite_url, stdin=PASSWORD + "\n")
    again = razbor("user", "add", "anna", "--admin", "--password-stdin", "--db", sqlite_url,
                   stdin="another long password\n")
    assert again.exit_code == 1 and "taken" in again.output
    assert re.search(r"anna\s+│\s+member", razbor("user", "list", "--db", sqlite_url).output)
