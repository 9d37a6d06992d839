"""The JupyterLab launcher's links (``GET api/cartable/launcher``): the lessons and dashboards
the server's owner may open, asked of the two Hub services with the server's own token.

Without a hub: the layer gives servers the dashboards' URL and the token's scopes; a service
missing, down or answering nonsense leaves its part empty (no error); the services' answers are
used as given by the token's owner, with one version of each lesson (the user's language) and
nothing but pages of the services themselves. On the lab's real hub: a pupil's, a teacher's and a
director's links, in French and Arabic; a pupil never gets another role's dashboards, whatever
the request says.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.lab_school import TEACHER
from traitlets.config import Config

LESSONS_PREFIX = "/services/cartable-lessons/"
DASHBOARDS_PREFIX = "/services/cartable-dashboards/"


# --------------------------------------------------------------------------- without a hub


def test_layer_gives_servers_the_dashboards_url_and_what_their_token_needs(tmp_path):
    from cartable.core import config
    from cartable.hub import layers

    cfg = config.from_dict({"school": {"name": "Lycée Test", "code": "TST"},
                            "hub": {"state_dir": str(tmp_path / "state"), "port": 9000}}, tmp_path)
    c = Config()
    layers.exchange(c, cfg)
    layers.dashboards(c, cfg)
    layers.lessons(c, cfg)
    env = c.Spawner.environment.get_value({})
    assert env["CARTABLE_DASHBOARDS_URL"] == "http://127.0.0.1:9000/services/cartable-dashboards/"
    assert env["CARTABLE_LESSONS_URL"] == "http://127.0.0.1:9000/services/cartable-lessons/"
    scopes = c.Spawner.server_token_scopes
    assert "access:services!service=cartable-dashboards" in scopes
    # the groups and role scope the service decides from (the Hub keeps only those the owner holds)
    assert {"read:users:groups!user", "custom:cartable:learn", "custom:cartable:teach",
            "custom:cartable:manage-school", "custom:cartable:inspect"} <= set(scopes)
    assert "access:services!service=cartable-lessons" in scopes and "access:servers!server" in scopes
    assert len(scopes) == len(set(scopes))
    # nothing broader than one's own user
    assert not {"read:users", "read:users:groups", "admin:users", "inherit"} & set(scopes)


class Stub:
    """A lessons and a dashboards service on loopback answering fixed JSON; it records what it
    was asked (path, query, token)."""

    def __init__(self, answers: dict):
        self.answers, self.seen = answers, []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                stub.seen.append((self.path, self.headers.get("Authorization")))
                path = self.path.split("?", 1)[0]
                status, body = stub.answers.get(path, (404, {"error": 404}))
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def lesson(path, id_, lang, titles, source="library"):
    return {"path": path, "id": id_, "lang": lang, "titles": titles, "subject": "mathematiques", "source": source,
            "url": f"{LESSONS_PREFIX}voila/render/{path}", "lite_url": f"{LESSONS_PREFIX}lite/{path}"}


SUITES = {"fr": "Suites numériques", "ar": "المتتاليات العددية", "en": "Sequences"}
LIMITS = {"fr": "Limites et continuité", "ar": "النهايات والاتصال", "en": "Limits and continuity"}
PROGRESS = {"fr": "Ma progression", "ar": "تقدمي", "en": "My progress"}


@pytest.fixture
def stub(monkeypatch):
    s = Stub({
        f"{LESSONS_PREFIX}api/lessons": (200, [
            lesson("library/suites.ipynb", "suites", "fr", SUITES),
            lesson("library/suites.ar.ipynb", "suites", "ar", SUITES),
            lesson("library/limites-continuite.ipynb", "limites-continuite", "fr", LIMITS),
            lesson("published/be812345--ondes.ipynb", "be812345--ondes", "ar", {"ar": "الموجات"}, "published"),
            {**lesson("library/x.ipynb", "x", "fr", {"fr": "ailleurs"}), "url": "https://evil.example/x"},
            {**lesson("library/y.ipynb", "y", "fr", {"fr": "script"}), "url": "javascript:alert(1)"},
            {**lesson("library/z.ipynb", "z", "fr", {"fr": "remonte"}), "url": f"{LESSONS_PREFIX}../../hub/admin"},
        ]),
        f"{DASHBOARDS_PREFIX}api/dashboards": (200, {"role": "pupil", "dashboards": [
            {"name": "progress", "url": f"{DASHBOARDS_PREFIX}progress", "titles": PROGRESS},
            {"name": "class", "url": "//evil.example/class", "titles": {"fr": "Mes classes"}},
        ]}),
    })
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "token-of-the-server")
    monkeypatch.setenv("CARTABLE_LESSONS_URL", f"{s.url}{LESSONS_PREFIX}")
    monkeypatch.setenv("CARTABLE_DASHBOARDS_URL", f"{s.url}{DASHBOARDS_PREFIX}")
    yield s
    s.close()


def test_links_one_version_per_lesson_in_the_users_language_and_only_the_services_pages(stub):
    from cartable.extensions.panel import launcher

    fr = launcher.lessons("fr")
    assert fr["available"] and fr["index_url"] == LESSONS_PREFIX
    assert [(i["title"], i["url"], i["lang"]) for i in fr["items"]] == [
        ("Suites numériques", f"{LESSONS_PREFIX}voila/render/library/suites.ipynb", "fr"),
        ("Limites et continuité", f"{LESSONS_PREFIX}voila/render/library/limites-continuite.ipynb", "fr"),
        ("الموجات", f"{LESSONS_PREFIX}voila/render/published/be812345--ondes.ipynb", "ar"),
    ]
    ar = launcher.lessons("ar")
    assert [(i["title"], i["url"].rsplit("/", 1)[1], i["dir"]) for i in ar["items"]] == [
        ("المتتاليات العددية", "suites.ar.ipynb", "rtl"),  # the Arabic version
        ("النهايات والاتصال", "limites-continuite.ipynb", "ltr"),  # French only: its title in Arabic
        ("الموجات", "be812345--ondes.ipynb", "rtl"),
    ]
    assert launcher.dashboards("ar") == {"available": True, "index_url": DASHBOARDS_PREFIX, "items": [
        {"name": "progress", "title": "تقدمي", "url": f"{DASHBOARDS_PREFIX}progress"}]}
    # the services were asked with the server's token, and nothing else
    assert {auth for _path, auth in stub.seen} == {"token token-of-the-server"}
    assert {path for path, _auth in stub.seen} == {f"{LESSONS_PREFIX}api/lessons", f"{DASHBOARDS_PREFIX}api/dashboards"}


def test_a_service_missing_down_or_refusing_gives_an_empty_part(stub, monkeypatch, caplog):
    from cartable.extensions.panel import launcher

    empty = {"available": False, "index_url": None, "items": []}
    monkeypatch.delenv("CARTABLE_DASHBOARDS_URL")
    assert launcher.dashboards("fr") == empty
    assert launcher.lessons("fr")["available"] is True
    # down: nothing listens there
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        port = closed.server_port
    monkeypatch.setenv("CARTABLE_DASHBOARDS_URL", f"http://127.0.0.1:{port}{DASHBOARDS_PREFIX}")
    with caplog.at_level("WARNING", logger="cartable.panel"):
        assert launcher.dashboards("fr") == empty
    assert "dashboards service did not answer" in caplog.text
    # refusing, or answering what is not JSON
    stub.answers[f"{LESSONS_PREFIX}api/lessons"] = (403, {"error": 403})
    assert launcher.lessons("fr") == empty
    stub.answers[f"{LESSONS_PREFIX}api/lessons"] = (200, b"<html>login</html>")
    assert launcher.lessons("fr") == empty
    # no token: nothing is asked
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    n = len(stub.seen)
    assert launcher.lessons("fr") == empty and len(stub.seen) == n


# --------------------------------------------------------------------------- on the lab's hub


def links(school, user, query="lang=fr", **kw) -> dict:
    r = school.panel(user, "GET", f"launcher?{query}", **kw)
    assert r.status_code == 200, r.text[:500]
    return r.json()


@pytest.mark.hub
def test_pupil_links_in_french_and_arabic(school):
    pupil = school.pupils()[0]
    fr = links(school, pupil)
    assert fr["lang"] == "fr"
    assert fr["dashboards"] == {"available": True, "index_url": DASHBOARDS_PREFIX, "items": [
        {"name": "progress", "title": "Ma progression", "url": f"{DASHBOARDS_PREFIX}progress"}]}
    lessons = fr["lessons"]
    assert lessons["available"] and lessons["index_url"] == LESSONS_PREFIX
    by_id = {i["id"]: i for i in lessons["items"]}
    # their class's level and stream (2BAC SM): maths and physics, one card per lesson
    assert {"suites", "limites-continuite", "radioactivite", "dipole-rc"} <= set(by_id)
    assert len(by_id) == len(lessons["items"])
    assert by_id["suites"]["title"] == "Suites numériques"
    assert by_id["suites"]["url"] == f"{LESSONS_PREFIX}voila/render/library/suites.ipynb"
    assert all(i["url"].startswith(f"{LESSONS_PREFIX}voila/render/") for i in lessons["items"])

    ar = links(school, pupil, "lang=ar")
    assert [d["title"] for d in ar["dashboards"]["items"]] == ["تقدمي"]
    by_id = {i["id"]: i for i in ar["lessons"]["items"]}
    assert by_id["suites"]["title"] == "المتتاليات العددية"
    assert by_id["suites"]["url"].endswith("/suites.ar.ipynb") and by_id["suites"]["dir"] == "rtl"
    assert by_id["limites-continuite"]["title"] == "النهايات والاتصال"

    # each link opens for the pupil (the services' own login: the Hub's OAuth)
    br = school.login(pupil)
    r = br.s.get(f"{school.hub.url}{LESSONS_PREFIX}", timeout=60)
    assert r.status_code == 200 and "voila/render/library/suites.ipynb" in r.text


@pytest.mark.hub
def test_a_pupil_never_gets_another_roles_dashboards_whatever_the_request_says(school):
    pupil = school.pupils()[0]
    plain = links(school, pupil)
    for query in (f"lang=fr&user={TEACHER}", "lang=fr&role=teacher", "lang=fr&role=director&user=admin",
                  f"lang=fr&as={TEACHER}&dashboards=class,school,inspection"):
        forged = links(school, pupil, query, headers={"X-Cartable-User": TEACHER, "X-Forwarded-User": "admin"})
        assert forged == plain, query
    assert [d["name"] for d in plain["dashboards"]["items"]] == ["progress"]
    # another pupil's server is not theirs to ask
    other = school.pupils()[1]
    r = school.login(pupil).s.get(f"{school.hub.url}/user/{other}/api/cartable/launcher", allow_redirects=False,
                                  timeout=30)
    assert r.status_code in (302, 403, 404), r.status_code
    # nor may anyone without the server's login
    r = school.hub.client().s.get(f"{school.hub.url}/user/{pupil}/api/cartable/launcher", allow_redirects=False,
                                  timeout=30)
    assert r.status_code in (302, 401, 403), r.status_code


@pytest.mark.hub
def test_the_dashboards_service_answers_from_the_token_only(school):
    import requests
    from support.exchange import Tokens

    tokens = Tokens(school.hub, school.accounts)
    api = f"{school.hub.url}{DASHBOARDS_PREFIX}api/dashboards"
    base = ["access:services!service=cartable-dashboards", "read:users:groups!user"]

    def names(user, scopes, **kw):
        r = requests.get(api, headers={"Authorization": f"token {tokens(user, scopes)}"}, timeout=30, **kw)
        assert r.status_code == 200, r.text[:300]
        return [d["name"] for d in r.json()["dashboards"]]

    pupil = school.pupils()[0]
    inspector = school.accounts.of("inspector")[0]["username"]
    assert names(pupil, [*base, "custom:cartable:learn"]) == ["progress"]
    assert names(pupil, [*base, "custom:cartable:learn"], params={"user": TEACHER, "role": "teacher"}) == ["progress"]
    assert names(inspector, [*base, "custom:cartable:inspect"]) == ["inspection"]
    # a token without the role's scope opens nothing
    assert names(TEACHER, base) == []
    # a pupil's token cannot be given a teacher's scope (what the Hub also does to server tokens)
    r = tokens.admin.s.post(f"{school.hub.url}/hub/api/users/{pupil}/tokens", headers=tokens.admin.xsrf_headers(),
                            json={"scopes": [*base, "custom:cartable:teach"]}, timeout=30)
    assert r.status_code == 400, r.text[:300]
    # no token: 403 as JSON, not a login page
    r = requests.get(api, timeout=30, allow_redirects=False)
    assert r.status_code == 403 and r.headers["Content-Type"].startswith("application/json")


@pytest.mark.hub
def test_teacher_and_director_links(school):
    teacher = links(school, TEACHER)
    assert [(d["name"], d["title"]) for d in teacher["dashboards"]["items"]] == [("class", "Mes classes")]
    assert teacher["lessons"]["available"] and teacher["lessons"]["items"]
    director = school.accounts.of("director")[0]["username"]
    view = links(school, director, "lang=ar")
    assert [d["name"] for d in view["dashboards"]["items"]] == ["school"]
    assert view["lessons"]["available"]
