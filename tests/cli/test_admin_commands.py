"""pulp-admin as a subprocess against the real server: login, repositories, tasks, and failure exits."""

from __future__ import annotations

import json
import re
import socket
import stat
import uuid

from admin_runner import Admin


def test_login_stores_a_private_session_and_logout_removes_it(admin: Admin, pulp_server):
    admin.configure(auth=False)
    admin.fails("docker", "repo", "list", code=77, says="authentication failed")
    out = admin.ok("login", "-u", pulp_server.auth[0], "-p", pulp_server.auth[1])
    assert "Successfully logged in" in out
    stored = admin.home / ".pulp" / "credentials"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert set(json.loads(stored.read_text())) == {"login", "token", "expires"}  # no password kept
    assert isinstance(admin.json("docker", "repo", "list"), list)  # authenticated by the stored session alone
    admin.ok("logout")
    assert not stored.exists()
    admin.fails("docker", "repo", "list", code=77, says="authentication failed")


def test_login_with_a_bad_password_is_refused(admin: Admin, pulp_server):
    admin.fails("login", "-u", pulp_server.auth[0], "-p", "wrong", code=77, says="authentication failed")
    assert not (admin.home / ".pulp" / "credentials").exists()


def test_global_credentials_override_the_config(admin: Admin, pulp_server):
    admin.fails("-u", pulp_server.auth[0], "-p", "wrong", "docker", "repo", "list", code=77, says="HTTP 401")
    admin.configure(auth=False)
    assert isinstance(admin.json("-u", pulp_server.auth[0], "-p", pulp_server.auth[1], "docker", "repo", "list"),
                      list)


def test_repo_create_sends_pulp2s_body_and_lists(admin: Admin, docker_server):
    name = f"web-{uuid.uuid4().hex[:8]}"
    admin.ok("docker", "repo", "create", "--repo-id", name, "--display-name", "Web", "--description", "front",
             "--note", "team=ci", "--repo-registry-id", "acme/web", "--auto-publish", "false",
             "--protected", "true")
    repo = docker_server.api("GET", f"repositories/{name}/", params={"details": "true"}).json()
    assert repo["display_name"] == "Web" and repo["description"] == "front"
    assert repo["notes"] == {"team": "ci", "_repo-type": "docker-repo"}
    assert [i["importer_type_id"] for i in repo["importers"]] == ["docker_importer"]
    distributors = {d["id"]: d for d in repo["distributors"]}
    web = distributors["docker_web_distributor_name_cli"]
    export = distributors["docker_export_distributor_name_cli"]
    assert web["distributor_type_id"] == "docker_distributor_web" and web["auto_publish"] is False
    assert export["distributor_type_id"] == "docker_distributor_export" and export["auto_publish"] is False
    for dist in (web, export):
        assert dist["config"]["repo-registry-id"] == "acme/web" and dist["config"]["protected"] is True

    listed = {r["id"]: r for r in admin.json("docker", "repo", "list", "--details")}
    assert listed[name]["notes"]["_repo-type"] == "docker-repo"
    assert f"Id:                  {name}" in admin.ok("docker", "repo", "list")
    admin.fails("docker", "repo", "create", "--repo-id", name, code=65, says="already exists")


def test_repo_create_defaults_to_auto_publish(admin: Admin, repo_id, docker_server):
    repo = docker_server.api("GET", f"repositories/{repo_id}/", params={"details": "true"}).json()
    web = next(d for d in repo["distributors"] if d["id"] == "docker_web_distributor_name_cli")
    assert web["auto_publish"] is True
    assert "repo-registry-id" not in web["config"]


def test_repo_update_and_delete(admin: Admin, repo_id, docker_server):
    admin.ok("docker", "repo", "update", "--repo-id", repo_id, "--display-name", "Renamed", "--note", "a=b",
             "--repo-registry-id", "acme/renamed")
    repo = docker_server.api("GET", f"repositories/{repo_id}/", params={"details": "true"}).json()
    assert repo["display_name"] == "Renamed"
    assert repo["notes"] == {"a": "b", "_repo-type": "docker-repo"}
    web = next(d for d in repo["distributors"] if d["id"] == "docker_web_distributor_name_cli")
    assert web["config"]["repo-registry-id"] == "acme/renamed"
    assert "successfully deleted" in admin.ok("docker", "repo", "delete", "--repo-id", repo_id)
    admin.fails("docker", "repo", "delete", "--repo-id", repo_id, code=65, says="does not exist")
    admin.fails("docker", "repo", "update", "--repo-id", repo_id, "--description", "x", code=65,
                says="does not exist")


def test_crane_redirect_url_is_refused_in_one_line(admin: Admin, docker_server):
    name = f"redir-{uuid.uuid4().hex[:8]}"
    admin.fails("docker", "repo", "create", "--repo-id", name, "--redirect-url", "https://crane.example.com/x",
                code=65, says="--redirect-url told crane")
    assert docker_server.api("GET", f"repositories/{name}/").status_code == 404


def test_bad_option_values_are_usage_errors(admin: Admin):
    result = admin.run("docker", "repo", "create", "--repo-id", "x", "--auto-publish", "maybe")
    assert result.returncode == 2 and "true or false" in result.stderr
    result = admin.run("docker", "repo", "create", "--repo-id", "x", "--note", "novalue")
    assert result.returncode == 2 and "key=value" in result.stderr


def test_unreachable_server_is_one_line(admin: Admin):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    admin.configure(port=port)
    admin.fails("docker", "repo", "list", code=74, says=f"cannot reach the Pulp server at http://{admin.host}:{port}")
    admin.fails("tasks", "list", code=74, says="cannot reach")


def test_missing_repository_exits_non_zero(admin: Admin, docker_server, tmp_path):
    tarball = tmp_path / "x.tar"
    tarball.write_bytes(b"not read: the repository is checked first")
    admin.fails("docker", "repo", "uploads", "upload", "--repo-id", "nope", "-f", str(tarball), code=65,
                says="repository 'nope' does not exist")
    admin.fails("docker", "repo", "search", "manifest", "--repo-id", "nope", code=65, says="does not exist")
    admin.fails("docker", "repo", "tag", "--repo-id", "nope", "--tag-name", "t", "--digest", "sha256:" + "0" * 64,
                code=65, says="does not exist")
    admin.fails("docker", "repo", "publish", "run", "--repo-id", "nope", code=65, says="does not exist")
    assert admin.records == []


def test_a_group_alone_prints_its_help_once(admin: Admin):
    for args in ([], ["docker"], ["docker", "repo"], ["tasks"]):
        result = admin.run(*args)
        assert (result.returncode, result.stderr) == (0, ""), (args, result.stderr)
        assert result.stdout.count("Usage: pulp-admin") == 1 and "Commands:" in result.stdout, result.stdout


def test_an_admin_conf_without_scheme_against_plain_http_says_how_to_fix_it(admin: Admin, tmp_path):
    conf = tmp_path / "pulp2.conf"  # Pulp 2's default scheme is https; the test server speaks plain HTTP
    conf.write_text(f"[server]\nhost = {admin.host}\nport = {admin.port}\n")
    admin.fails("--config", str(conf), "tasks", "list", code=78,
                says=f"https://{admin.host}:{admin.port} answers plain HTTP, not HTTPS: set `scheme = http` in "
                     "the [server] section")


def test_bad_config_file_is_one_line(admin: Admin, tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[server]\nport = eighty\n")
    admin.fails("--config", str(bad), "tasks", "list", code=78, says="bad number")
    admin.fails("--config", str(tmp_path / "absent.conf"), "tasks", "list", code=78, says="not found")


def test_tasks_commands(admin: Admin, repo_id, docker_server):
    admin.ok("docker", "repo", "delete", "--repo-id", repo_id)
    tasks = admin.json("tasks", "list", "--all")
    delete = [t for t in tasks if f"pulp:repository:{repo_id}" in t["tags"]]
    assert delete and delete[0]["state"] == "finished"
    task_id = delete[0]["task_id"]
    details = admin.json("tasks", "details", "--task-id", task_id)
    assert details["task_id"] == task_id and details["error"] is None
    assert "Task Details" in admin.ok("tasks", "details", "--task-id", task_id)
    assert all(t["state"] in ("waiting", "running") for t in admin.json("tasks", "list"))
    admin.fails("tasks", "details", "--task-id", "no-such-task", code=65, says="HTTP 404")


def test_status_needs_no_login(admin: Admin):
    admin.configure(auth=False)
    report = admin.json("status")
    assert report["database_connection"]["connected"] is True and report["known_workers"]
    assert re.search(r"^Database Connected: +True$", admin.ok("status"), re.M)


def test_resume_and_cancel_want_a_choice_among_several_uploads(admin: Admin):
    folder = admin.home / ".pulp" / "uploads"
    folder.mkdir(parents=True)
    for upload_id in ("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"):
        (folder / f"{upload_id}.json").write_text(json.dumps({
            "upload_id": upload_id, "repo_id": "r", "server": f"http://{admin.host}:{admin.port}/pulp/api/v2/",
            "path": "/nonexistent.tar", "kind": "file", "size": 10, "fingerprint": "x",
            "unit_type_id": "docker_manifest"}))
    admin.fails("docker", "repo", "uploads", "resume", code=2, says="2 uploads in progress")
    admin.fails("docker", "repo", "uploads", "cancel", code=2, says="choose with --upload-id or use --all")
    listed = admin.json("docker", "repo", "uploads", "list")
    assert [(u["server_size"], u["server_has_upload"]) for u in listed] == [(None, False), (None, False)]
    admin.ok("docker", "repo", "uploads", "cancel", "--all")  # gone on the server already: just forgotten
    assert not list(folder.glob("*.json"))
