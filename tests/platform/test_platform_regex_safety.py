"""Search filters with a regular expression that could backtrack catastrophically are refused (400).

Before, ``{"name": {"$regex": "(a+)+$"}}`` against a long run of a's ran for seconds in the embedded
database, doubling with every character, and stalled every other request meanwhile.
"""

from __future__ import annotations

import pytest
from platform_helpers import assert_error, units

from pulp_platform.operations.regex_safety import MAX_PATTERN_LENGTH, backtracking_risk

REFUSED = ["(a+)+$", "(a|aa)*", r"(\w+\s?)*", "(a*)*b", "((ab)+)+", "(?:x+)+", "(a+){2,}", "(.*a){12}",
           "x" * (MAX_PATTERN_LENGTH + 1)]
ALLOWED = ["(ab)+", "a+b*", "(foo|bar)", "(foo|bar)?", "^sha256:[0-9a-f]+$", "[(]+)", r"\(a+\)+", "(a+){0,1}",
           "a{3}", "^latest$", r"^v\d+\.\d+(\.\d+)?$"]


@pytest.mark.parametrize("pattern", REFUSED)
def test_nested_repetition_is_a_risk(pattern):
    assert backtracking_risk(pattern) is not None


@pytest.mark.parametrize("pattern", ALLOWED)
def test_ordinary_patterns_pass(pattern):
    assert backtracking_risk(pattern) is None


def test_the_search_refuses_a_catastrophic_regex_and_still_takes_a_plain_one(pulp_server, make_repo, upload_text):
    repo_id = make_repo()
    task = pulp_server.import_upload(repo_id, upload_text("x"), "test_file", unit_key={"name": "a" * 40 + "!"})
    assert task["state"] == "finished", task
    path = f"repositories/{repo_id}/search/units/"
    for criteria in ({"filters": {"unit": {"name": {"$regex": "^(a+)+$"}}}},
                     {"filters": {"unit": {"name": {"$not": "(a|aa)*$"}}}},
                     {"filters": {"unit": {"$or": [{"name": {"$regex": "(a*)*b"}}]}}}):
        body = assert_error(pulp_server.api("POST", path, json={"criteria": criteria}), 400, "PLP0015")
        assert "repeats a group" in body["error_message"], body
    found = units(pulp_server, repo_id, {"filters": {"unit": {"name": {"$regex": "^a+!$"}}}})
    assert [row["metadata"]["name"] for row in found] == ["a" * 40 + "!"]
