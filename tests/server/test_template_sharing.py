"""教案 templates on the server (app/server/sync/templates.py,
docs/templates.md): who gets a trainer's templates in a pull, who may
write, share or submit one, and how unsharing and leaving a cohort reach a
fellow's store. Every rule per role, on SQLite and PostgreSQL.

The roles: ``owner`` is a trainer of cohort A who makes the templates;
``fellow_in`` a fellow of A, ``fellow_out`` a fellow of B, ``co_trainer``
another trainer of A, ``other_trainer`` the trainer of B, ``admin``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.protocol.sync import PROTOCOL_VERSION
from app.server import admin
from app.server.tables import User

API = "/api/v1"
MakeUser = Callable[..., User]
Headers = Callable[[User], dict[str, str]]
ROLES = ("owner", "fellow_in", "fellow_out", "co_trainer", "other_trainer", "admin")
LATE = 1_000_000

TEMPLATE = {"title": "分数教学模板", "subject": "math", "duration_minutes": 40,
            "procedure": [{"phase": "导入", "minutes": 40, "teacher": "讲", "students": "听"}]}

# Who gets what: the contract, probed cell by cell below.
EXPECTED: dict[str, set[str]] = {
    # pull from scratch: the shared template, and the one never shared
    "pull_gets_shared": {"owner", "fellow_in", "admin"},
    "pull_gets_private": {"owner", "admin"},
    # pushes to the owner's shared template: an edit, a delete
    "push_edit_template": {"owner"},
    "push_delete_template": {"owner"},
    # a template of one's own pushed as shared
    "push_share_own": {"owner", "co_trainer", "other_trainer"},
    # a template of one's own pushed as submitted for review
    "push_submit_own": set(),
}


@dataclass
class World:
    client: Any
    users: dict[str, User]
    headers: Headers
    seqs: dict[str, int] = field(default_factory=dict)
    clock: int = LATE

    def change(self, who: str, record_id: str, fields: dict[str, Any], *,
               late: bool = False) -> dict[str, Any]:
        self.seqs[who] = self.seqs.get(who, 0) + 1
        self.clock += 1
        return {"seq": self.seqs[who], "record_id": record_id, "kind": "lesson_template",
                "clock": self.clock if late else self.seqs[who], "known": 0, "fields": fields}

    def push(self, who: str, changes: list[dict[str, Any]]) -> Any:
        body = {"protocol": PROTOCOL_VERSION, "device_id": f"laptop-{who}", "changes": changes}
        response = self.client.post(f"{API}/sync/push", json=body, headers=self.headers(self.users[who]))
        assert response.status_code == 200, response.text
        return response.json()

    def pull(self, who: str, cursor: int = 0, scope: list[int] | None = None) -> dict[str, Any]:
        body = {"protocol": PROTOCOL_VERSION, "cursor": cursor, "scope": scope}
        response = self.client.post(f"{API}/sync/pull", json=body, headers=self.headers(self.users[who]))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def make_template(self, who: str, **fields: Any) -> str:
        record_id = str(uuid.uuid4())
        answer = self.push(who, [self.change(who, record_id, {**TEMPLATE, **fields})])
        assert answer["results"] == [], answer
        return record_id


def _accepted(answer: dict[str, Any]) -> bool:
    return all(r["outcome"] != "rejected" for r in answer["results"])


def build(client: Any, make_user: MakeUser, auth_headers: Headers) -> World:
    users = {
        "owner": make_user("trainer", cohort="A", display_name="赵老师"),
        "fellow_in": make_user("fellow", cohort="A"),
        "fellow_out": make_user("fellow", cohort="B"),
        "co_trainer": make_user("trainer", cohort="A"),
        "other_trainer": make_user("trainer", cohort="B"),
        "admin": make_user("admin"),
    }
    return World(client, users, auth_headers)


def probe(world: World, cell: str, who: str, shared: str, private: str) -> bool:
    if cell in ("pull_gets_shared", "pull_gets_private"):
        wanted = shared if cell == "pull_gets_shared" else private
        return any(r["id"] == wanted and "title" in r["fields"] for r in world.pull(who)["records"])
    if cell == "push_edit_template":
        return _accepted(world.push(who, [world.change(who, shared, {"title": f"{who} 改过"}, late=True)]))
    if cell == "push_delete_template":
        late = world.change(who, shared, {"deleted": True}, late=True)
        accepted = _accepted(world.push(who, [late]))
        if accepted:  # put it back for the cells after this one
            world.push("owner", [world.change("owner", shared, {"deleted": False}, late=True)])
        return accepted
    if cell == "push_share_own":
        record_id = str(uuid.uuid4())
        return _accepted(world.push(who, [world.change(who, record_id, {**TEMPLATE, "shared": True})]))
    if cell == "push_submit_own":
        record_id = str(uuid.uuid4())
        return _accepted(world.push(who, [world.change(who, record_id, {**TEMPLATE, "status": "submitted"})]))
    raise AssertionError(cell)


def test_every_template_rule_for_every_role(client: Any, make_user: MakeUser, auth_headers: Headers) -> None:
    world = build(client, make_user, auth_headers)
    shared = world.make_template("owner", shared=True)
    private = world.make_template("owner", title="没分享的模板")
    outcomes = {(cell, who): probe(world, cell, who, shared, private) for cell in EXPECTED for who in ROLES}
    wrong = [
        f"{cell} × {who}: expected {'allow' if who in EXPECTED[cell] else 'deny'}"
        for (cell, who), allowed in outcomes.items()
        if allowed != (who in EXPECTED[cell])
    ]
    assert not wrong, "\n".join(wrong)


def test_a_fellow_gets_only_the_shared_templates_of_their_trainers_and_nothing_else_of_theirs(
    client: Any, make_user: MakeUser, auth_headers: Headers
) -> None:
    world = build(client, make_user, auth_headers)
    shared = world.make_template("owner", shared=True)
    world.make_template("owner", title="没分享的模板")
    plan = str(uuid.uuid4())
    own_plan = {**world.change("owner", plan, {"title": "赵老师自己的教案"}), "kind": "lesson_plan"}
    world.push("owner", [own_plan])

    page = world.pull("fellow_in")
    assert [(r["id"], r["kind"], r["owner"]) for r in page["records"]] == [
        (shared, "lesson_template", world.users["owner"].id)]
    fields = {name: value[0] for name, value in page["records"][0]["fields"].items()}
    assert fields["title"] == "分数教学模板" and fields["shared"] is True
    assert fields["procedure"] == TEMPLATE["procedure"]
    assert page["records"][0]["author"] == "赵老师"
    # The trainer rides in the scope, so leaving the cohort removes them.
    assert world.users["owner"].id in page["scope"]
    assert "reviews" not in page


def test_unsharing_sends_shared_false_once_and_resharing_sends_the_whole_template(
    client: Any, make_user: MakeUser, auth_headers: Headers
) -> None:
    world = build(client, make_user, auth_headers)
    template = world.make_template("owner", shared=True)
    first = world.pull("fellow_in")
    cursor, scope = first["cursor"], first["scope"]

    world.push("owner", [world.change("owner", template, {"shared": False}, late=True)])
    page = world.pull("fellow_in", cursor, scope)
    [record] = page["records"]
    assert {name: value[0] for name, value in record["fields"].items()} == {"shared": False}
    cursor = page["cursor"]

    # Edited while unshared: nothing of it goes out.
    world.push("owner", [world.change("owner", template, {"objectives": "新的目标"}, late=True)])
    page = world.pull("fellow_in", cursor, scope)
    assert page["records"] == []
    cursor = page["cursor"]
    # A fellow who joins now never gets it at all.
    late_comer = make_user("fellow", cohort="A")
    world.users["late_comer"] = late_comer
    assert world.pull("late_comer")["records"] == []

    # Shared again: whole, with the edit made meanwhile.
    world.push("owner", [world.change("owner", template, {"shared": True}, late=True)])
    page = world.pull("fellow_in", cursor, scope)
    [record] = page["records"]
    fields = {name: value[0] for name, value in record["fields"].items()}
    assert fields["shared"] is True and fields["objectives"] == "新的目标"
    assert fields["title"] == "分数教学模板"


def test_a_fellow_who_leaves_the_cohort_has_the_trainer_removed(
    client: Any, session: Session, make_user: MakeUser, auth_headers: Headers
) -> None:
    world = build(client, make_user, auth_headers)
    world.make_template("owner", shared=True)
    first = world.pull("fellow_in")
    owner_id = world.users["owner"].id
    assert owner_id in first["scope"]

    admin.assign(session, world.users["fellow_in"].username, "B")  # a fellow is in one cohort
    session.commit()
    page = world.pull("fellow_in", first["cursor"], first["scope"])
    assert owner_id in page["removed"] and owner_id not in page["scope"]


def test_a_refused_edit_of_a_shared_template_comes_back_with_the_servers_copy(
    client: Any, make_user: MakeUser, auth_headers: Headers
) -> None:
    world = build(client, make_user, auth_headers)
    template = world.make_template("owner", shared=True)
    answer = world.push("fellow_in", [world.change("fellow_in", template, {"title": "我改的"}, late=True)])
    [result] = answer["results"]
    assert result["outcome"] == "rejected" and "belongs to someone else" in result["reason"]
    assert result["current"]["title"][0] == "分数教学模板"
    # Someone who does not get it learns nothing of it.
    answer = world.push("fellow_out", [world.change("fellow_out", template, {"title": "我改的"}, late=True)])
    [result] = answer["results"]
    assert result["outcome"] == "rejected" and "current" not in result
    assert world.pull("owner")["records"][0]["fields"]["title"][0] == "分数教学模板"
