"""The demo page against a deployed stack (`python -m local_stack.demo`, `make demo`): its config.json
comes from a file written from the stack's outputs, as docs/deploying.md shows; the page and that file
are served as the local stack serves them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local_stack import demo

ROOT = Path(__file__).resolve().parents[2]
#: What docs/deploying.md writes: usernames, no passwords.
DEPLOYED = {
    "apiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com",
    "awsEndpoint": "https://cognito-idp.us-east-1.amazonaws.com/",
    "region": "us-east-1",
    "userPoolClientId": "4h3kexample5t9m1f0example",
    "users": [{"username": "admin"}, {"username": "alice"}],
}


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "config.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_a_deployed_stacks_config_is_read_as_written(tmp_path: Path) -> None:
    assert demo.read_config(write(tmp_path, DEPLOYED)) == DEPLOYED


def test_users_are_optional(tmp_path: Path) -> None:
    config = {key: value for key, value in DEPLOYED.items() if key != "users"}
    assert demo.read_config(write(tmp_path, config))["users"] == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ({**DEPLOYED, "apiUrl": ""}, "needs apiUrl"),
        (
            {k: v for k, v in DEPLOYED.items() if k not in ("userPoolClientId", "region")},
            "region, userPoolClientId",
        ),
        ({**DEPLOYED, "users": [{"name": "alice"}]}, "users must be a list"),
        ({**DEPLOYED, "users": "alice"}, "users must be a list"),
        ("[]", "not an object"),
        ("{apiUrl: x}", "is not JSON"),
    ],
)
def test_a_config_the_page_cannot_use_is_refused_saying_why(tmp_path: Path, content: Any, says: str) -> None:
    with pytest.raises(demo.ConfigError, match=says):
        demo.read_config(write(tmp_path, content))


def test_a_missing_file_says_where_to_write_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([str(tmp_path / "config.json"), "--port", "0"]) == 1
    assert "does not exist: write it from the stack's outputs (docs/deploying.md)" in capsys.readouterr().err


@pytest.fixture
def page(tmp_path: Path) -> Iterator[str]:
    server = demo.DemoServer(demo.read_config(write(tmp_path, DEPLOYED)), port=0)
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_the_page_serves_the_files_config_json_as_given(page: str) -> None:
    # when
    config = requests.get(f"{page}/demo/config.json", timeout=10)
    script = requests.get(f"{page}/demo/app.js", timeout=10)

    # then
    assert config.status_code == 200
    assert config.json() == DEPLOYED
    assert script.status_code == 200
    assert script.content == (demo.DEMO_DIR / "app.js").read_bytes()
    assert script.headers["X-Content-Type-Options"] == "nosniff"


def test_the_root_leads_to_the_page_and_nothing_else_is_served(page: str) -> None:
    moved = requests.get(f"{page}/", allow_redirects=False, timeout=10)
    assert (moved.status_code, moved.headers["Location"]) == (308, "/demo/")
    for path in ("/demo/package.json", "/demo/config.json.bak", "/upload-tokens", "/demo/../README.md"):
        assert requests.get(f"{page}{path}", timeout=10).status_code == 404, path
    assert requests.post(f"{page}/demo/app.js", timeout=10).status_code == 405


def test_the_page_reads_only_what_config_json_holds() -> None:
    """app.js reads these keys of config.json and no other, so a deployed stack's file needs only them."""
    script = (demo.DEMO_DIR / "app.js").read_text()
    assert set(re.findall(r"state\.config\.(\w+)", script)) == {*demo.CONFIG_KEYS, "users"} - {"region"}


def test_the_deploying_page_writes_every_key_the_page_needs() -> None:
    section = (ROOT / "docs" / "deploying.md").read_text().split("## The demo page")[1].split("\n## ")[0]
    for key in (*demo.CONFIG_KEYS, "users"):
        assert f'"{key}"' in section, key
