"""The client's pure parts: admin.conf, the stored login, tar streaming of directories, request bodies."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest
import requests
from tarballs import DATA

from pulp_admin_client import config as client_config
from pulp_admin_client import credentials
from pulp_admin_client.connection import _reason, error_from_response
from pulp_admin_client.criteria import Criteria
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_admin_client.upload_source import DirectorySource, FileSlice, open_source
from pulp_admin_client.upload_state import UploadRecord, UploadRecords
from pulp_docker.extensions.admin.repos import create_body, update_body
from pulp_docker.extensions.admin.search import criteria


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_config_defaults_follow_pulp2(tmp_path):
    config = client_config.load(None, system_file=tmp_path / "absent.conf")
    assert (config.scheme, config.host, config.port, config.verify_ssl) == ("https", "localhost", 443, True)
    assert config.api_url == "https://localhost:443/pulp/api/v2/"
    assert config.upload_chunk_size == 32 * 1024 * 1024  # ours; Pulp 2 sent 1 MiB


def test_config_file_overrides_system_file_key_by_key(tmp_path):
    system = write(tmp_path / "system.conf", "[server]\nhost = pulp.example.com\nport = 8443\n"
                                             "upload_chunk_size = 2048\n[auth]\nusername = sys\n")
    user = write(tmp_path / "admin.conf", "[server]\nport = 24817\nscheme = http\nverify_ssl = False\n"
                                          "[auth]\nusername = me\npassword = secret\n"
                                          "[client]\nrole = admin\n[output]\nenable_color = true\n")
    config = client_config.load(user, system_file=system)
    assert config.base_url == "http://pulp.example.com:24817"
    assert config.upload_chunk_size == 2048
    assert (config.username, config.password) == ("me", "secret")
    assert config.verify is False


@pytest.mark.parametrize("text, fragment", [
    ("[server]\nscheme = ftp\n", "scheme"),
    ("[server]\nport = many\n", "bad number"),
    ("[server]\nverify_ssl = maybe\n", "verify_ssl"),
    ("[server]\nca_path = /nonexistent/ca.pem\n", "ca_path"),
    ("[server]\nupload_chunk_size = 0\n", "upload_chunk_size"),
    ("not an ini file\n", "bad config file"),
])
def test_bad_config_is_one_clear_error(tmp_path, text, fragment):
    with pytest.raises(ClientError) as info:
        client_config.load(write(tmp_path / "admin.conf", text), system_file=tmp_path / "absent")
    assert fragment in str(info.value)
    assert info.value.exit_code == ExitCode.CONFIG
    assert "\n" not in str(info.value)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ClientError, match="not found"):
        client_config.load(tmp_path / "nope.conf", system_file=tmp_path / "absent")


def test_stored_login_is_private_and_removable(tmp_path):
    os.umask(0o022)
    login = credentials.StoredLogin("admin", "t0ken", "2030-01-01T00:00:00Z")
    stored = credentials.save(tmp_path / ".pulp", login)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert credentials.load(tmp_path / ".pulp") == login
    assert credentials.remove(tmp_path / ".pulp") is True
    assert credentials.load(tmp_path / ".pulp") is None
    assert credentials.remove(tmp_path / ".pulp") is False


def _image_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "image"
    folder.mkdir()
    with tarfile.open(DATA / "skopeo-v2s2.tar") as tar:
        for info in tar.getmembers():
            if info.isreg():
                (folder / Path(info.name).name).write_bytes(tar.extractfile(info).read())
    (folder / ".hidden").write_text("not part of the image")
    (folder / "subdir").mkdir()
    return folder


class Collect:
    """A chunk sink keeping what it is given, for small test directories."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def flush(self) -> None:
        pass

    def send_file_range(self, path: Path, start: int, end: int) -> None:
        with open(path, "rb") as handle:
            handle.seek(start)
            self.data += handle.read(end - start)


def test_directory_is_tarred_with_the_size_announced(tmp_path):
    source = open_source(_image_dir(tmp_path))
    assert isinstance(source, DirectorySource)
    sink = Collect()
    source.send(sink, 0)
    assert len(sink.data) == source.size
    with tarfile.open(fileobj=io.BytesIO(bytes(sink.data))) as tar:
        names = sorted(m.name for m in tar.getmembers())
        assert all(m.isreg() for m in tar.getmembers())
        manifest = tar.extractfile("manifest.json").read()
    facts = json.loads((DATA / "FACTS.json").read_text())["skopeo-v2s2.tar"]
    assert names == sorted(facts["blob_files"] + ["manifest.json", "version"])
    assert f"sha256:{hashlib.sha256(manifest).hexdigest()}" == facts["manifest_digest_of_file_bytes"]


def test_directory_stream_is_reproducible_from_any_offset(tmp_path):
    source = open_source(_image_dir(tmp_path))
    whole = Collect()
    source.send(whole, 0)
    for offset in (1, 511, 512, 10240, source.size // 2, source.size - 1):
        part = Collect()
        open_source(source.path).send(part, offset)
        assert bytes(part.data) == bytes(whole.data[offset:]), offset


def test_a_changed_directory_changes_its_fingerprint(tmp_path):
    folder = _image_dir(tmp_path)
    before = open_source(folder)
    (folder / "version").write_text("Directory Transport Version: 1.1\n\n")
    assert open_source(folder).fingerprint != before.fingerprint


def test_directory_without_manifest_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClientError, match="manifest.json"):
        open_source(tmp_path / "empty")


def test_file_slice_reads_only_its_window(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 4)
    with open(path, "rb") as handle:
        window = FileSlice(handle, 100, 300)
        assert len(window) == 200
        data = b"".join(iter(lambda: window.read(64), b""))
    assert data == path.read_bytes()[100:300]


def test_upload_records_round_trip(tmp_path):
    store = UploadRecords(tmp_path / "uploads")
    record = UploadRecord("abc", "repo", "http://h:1/pulp/api/v2/", "/x.tar", "file", 10, "fp", "docker_manifest",
                          {}, {"tag": "latest"})
    store.save(record)
    assert store.get("abc") == record
    assert [r.upload_id for r in store.all()] == ["abc"]
    (tmp_path / "uploads" / "junk.json").write_text("{")
    assert [r.upload_id for r in store.all()] == ["abc"]
    store.remove("abc")
    with pytest.raises(ClientError, match="no upload abc"):
        store.get("abc")
    with pytest.raises(ClientError):
        store.get("../etc/passwd")


def test_create_body_is_what_pulp2_sent():
    body = create_body("r1", None, None, {"team": "ci"}, "ns/r1", None, True)
    assert body == {
        "id": "r1",
        "notes": {"team": "ci", "_repo-type": "docker-repo"},
        "importer_type_id": "docker_importer",
        "importer_config": {},
        "distributors": [
            {"distributor_id": "docker_web_distributor_name_cli", "distributor_type_id": "docker_distributor_web",
             "distributor_config": {"protected": True, "repo-registry-id": "ns/r1"}, "auto_publish": True},
            {"distributor_id": "docker_export_distributor_name_cli",
             "distributor_type_id": "docker_distributor_export",
             "distributor_config": {"protected": True, "repo-registry-id": "ns/r1"}, "auto_publish": False},
        ],
    }
    assert create_body("r2", "R 2", "d", {}, None, False, None)["distributors"][0]["auto_publish"] is False


def test_update_body_removes_notes_and_sets_configs():
    body = update_body("New", None, {"gone": None, "kept": "v"}, None, False, None)
    assert body == {"delta": {"display_name": "New", "notes": {"gone": None, "kept": "v"}},
                    "distributor_configs": {"docker_web_distributor_name_cli": {"auto_publish": False}}}
    assert update_body(None, None, {}, None, None, None) == {"delta": {}}


def test_search_criteria():
    found = Criteria.of({"criteria_str_eq": (("name", "latest"),)})
    body = criteria("docker_tag", found, "name,manifest_digest", 5, 1, ("name,descending", "schema_version"))
    assert body == {"criteria": {"type_ids": ["docker_tag"], "filters": {"unit": {"name": "latest"}},
                                 "fields": ["name", "manifest_digest"], "limit": 5, "skip": 1,
                                 "sort": [["name", "descending"], ["schema_version", "ascending"]]}}
    with pytest.raises(ClientError, match="JSON"):
        Criteria.of({"criteria_filters": "{nope"})
    with pytest.raises(ClientError, match="--sort"):
        criteria("docker_tag", found, None, None, None, ("name,sideways",))


def _response(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.request = requests.Request("GET", "http://h/pulp/api/v2/x/").prepare()
    response.url = response.request.url
    return response


def test_pulp_error_bodies_become_one_line():
    body = {"http_status": 404, "error_message": "Missing resource(s): repository=r9",
            "error": {"code": "PLP0009", "description": "Missing resource(s): repository=r9", "data": {},
                      "sub_errors": []}}
    error = error_from_response(_response(404, body), ("admin", "x"))
    assert str(error) == "PLP0009: Missing resource(s): repository=r9 (HTTP 404)"
    assert (error.exit_code, error.http_status, error.code) == (ExitCode.DATA, 404, "PLP0009")
    denied = error_from_response(_response(401, {"error": {"code": "PLP0025"}}), ("admin", "x"))
    assert denied.exit_code == ExitCode.NOPERM and "authentication failed" in str(denied)
    broken = error_from_response(_response(500, "oops"), None)
    assert broken.exit_code == ExitCode.SERVER and "HTTP 500" in str(broken)


def test_connection_failures_keep_their_whole_reason():
    """OpenSSL's reason ends in a balanced "(_ssl.c:1006)"; only urllib3's unbalanced wrappers are cut."""
    assert _reason(Exception("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)")) == \
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)"
    wrapped = ("HTTPConnectionPool(host='h', port=1): Max retries exceeded (Caused by NewConnectionError('<conn>: "
               "Failed to establish a new connection: [Errno 111] Connection refused'))")
    assert _reason(Exception(wrapped)) == "[Errno 111] Connection refused"


def test_a_directory_changing_while_sent_is_a_clear_error(tmp_path):
    folder = _image_dir(tmp_path)
    source = open_source(folder)

    class Shrinking(Collect):
        def write(self, data: bytes) -> int:
            (folder / "version").write_bytes(b"")  # the last member shrinks once sending has begun
            return super().write(data)

    with pytest.raises(ClientError, match="changed while it was sent") as info:
        source.send(Shrinking(), 0)
    assert info.value.exit_code == ExitCode.DATA
