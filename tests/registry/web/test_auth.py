"""Sign in, sign out, sign-up (off by default), the login wall, and the app's own error pages."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = [
    ("dashboard", []),
    ("dataset_list", []),
    ("dataset_upload", []),
    ("dataset_detail", [1]),
    ("dataset_delete", [1]),
    ("train", []),
    ("model_list", []),
    ("model_detail", ["churn"]),
    ("model_delete", ["churn"]),
    ("version_compare", ["churn"]),
    ("alias_move", ["churn"]),
    ("version_detail", ["churn", 1]),
    ("version_status", ["churn", 1]),
    ("version_plot", ["churn", 1, "confusion_matrix"]),
    ("version_delete", ["churn", 1]),
    ("version_cancel", ["churn", 1]),
    ("token_list", []),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_it_sends_anonymous_visitors_to_sign_in(client, make_model, name, args):
    make_model("churn")
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert get_user_model().objects.count() == 1  # nothing was created on the way


@pytest.mark.parametrize(
    "name",
    ["version_predict", "version_batch_predict", "token_revoke"],
)
def test_it_refuses_anonymous_posts(client, make_model, name):
    model = make_model("churn")
    args = {"token_revoke": [1]}.get(name, ["churn", 1])
    response = client.post(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert model.versions.count() == 1


def test_it_signs_in_and_lands_on_the_dashboard(client, owner):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"Sign in" in page.content
    assert b"Ask an administrator" in page.content  # sign-up is off by default
    response = client.post(
        reverse("login"), {"username": "olivia", "password": "pw-olivia-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert b"Hello, olivia" in response.content
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_it_explains_a_wrong_password(client, owner):
    response = client.post(reverse("login"), {"username": "olivia", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


def test_it_signs_out_with_a_post(owner_client):
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in owner_client.session


def test_it_has_no_signup_by_default(client):
    response = client.get(reverse("signup"))
    assert response.status_code == 404
    assert b"Sign-up is turned off" in response.content
    assert get_user_model().objects.count() == 0


def test_it_creates_an_account_when_signup_is_on(client, settings):
    settings.MLSERVE_ALLOW_SIGNUP = True
    assert b"Create one" in client.get(reverse("login")).content
    response = client.post(
        reverse("signup"),
        {
            "username": "nina",
            "password1": "a-long-passphrase-7",
            "password2": "a-long-passphrase-7",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert get_user_model().objects.filter(username="nina").exists()
    assert client.session["_auth_user_id"]


def test_it_shows_signup_errors_next_to_their_fields(client, settings, owner):
    settings.MLSERVE_ALLOW_SIGNUP = True
    response = client.post(
        reverse("signup"), {"username": "olivia", "password1": "abc", "password2": "abd"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "A user with that username already exists." in html
    assert "The two password fields didn" in html
    assert get_user_model().objects.count() == 1


def test_it_has_its_own_404_page(owner_client):
    response = owner_client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html
    assert "/static/css/app.css" in html
    assert "Resolver404" not in html


def test_it_names_what_was_not_found(owner_client):
    response = owner_client.get(reverse("model_detail", args=["ghost"]))
    assert response.status_code == 404
    assert b"This page does not exist" in response.content
    assert b"matches the given query" not in response.content


def test_it_has_its_own_500_page(owner, monkeypatch):
    from registry import selectors

    def boom(user):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(selectors, "running_versions", boom)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "kaboom" not in html


def test_it_explains_an_expired_form(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("token_list"), {"name": "x"})
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert not owner.api_tokens.exists()
