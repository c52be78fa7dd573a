"""Pull pages and accounts for the review tests (store and sync side)."""

from __future__ import annotations

from typing import Any

from app.models.store import Store
from app.protocol.sync import Person, PullResponse, RemoteRecord, RemoteReview
from app.sync import replica

SERVER_URL = "http://fieldbook.test"
TRAINER, OTHER_TRAINER, LI, WANG, CHEN = 5, 6, 7, 8, 9
PEOPLE: list[Person] = [
    {"id": TRAINER, "name": "赵老师", "role": "trainer", "school": "", "cohorts": ["一班"]},
    {"id": OTHER_TRAINER, "name": "孙老师", "role": "trainer", "school": "", "cohorts": ["一班"]},
    {"id": LI, "name": "李老师", "role": "fellow", "school": "第一中学", "cohorts": ["一班"]},
    {"id": WANG, "name": "王老师", "role": "fellow", "school": "第二中学", "cohorts": ["一班"]},
    {"id": CHEN, "name": "陈老师", "role": "fellow", "school": "第三中学", "cohorts": ["二班"]},
]


def sign_in_as(store: Store, user_id: int, role: str = "trainer", name: str = "赵老师") -> None:
    replica.set_account(store, server_url=SERVER_URL, username=f"user{user_id}", user_id=user_id,
                        role=role, display_name=name)


def remote(record_id: str, owner: int, kind: str = "lesson_plan", *, clock: int = 3,
           created: str = "2024-09-01T08:00:00+00:00", **values: Any) -> RemoteRecord:
    """A record as the server sends it, every field written at ``clock`` by dev-b."""
    return {
        "id": record_id, "kind": kind, "owner": owner, "author": f"author{owner}",
        "created_at": created,
        "fields": {name: (value, clock, 0) for name, value in values.items()},
    }


def entry(entry_id: str, record_id: str, author_id: int, action: str, at: str, seq: int,
          body: str = "", outcome: str = "accepted", reason: str = "") -> RemoteReview:
    return {
        "id": entry_id, "record_id": record_id, "author_id": author_id, "author": f"name{author_id}",
        "action": action, "body": body, "outcome": outcome, "reason": reason,  # type: ignore[typeddict-item]
        "at": at, "seq": seq,
    }


def page(records: list[RemoteRecord] | None = None, *, reviews: list[RemoteReview] | None = None,
         people: list[Person] | None = None, people_hash: str | None = None, cursor: int = 20,
         scope: list[int] | None = None) -> PullResponse:
    answer: PullResponse = {
        "protocol": 1, "cursor": cursor, "more": False, "devices": ["dev-b", "server"],
        "records": records or [], "conflicts": [], "notices": [],
        "scope": scope if scope is not None else [LI, WANG, CHEN], "removed": [],
    }
    if reviews is not None:
        answer["reviews"] = reviews
    if people is not None:
        answer["people"] = people
    if people_hash is not None:
        answer["people_hash"] = people_hash
    return answer


def lesson(record_id: str, owner: int, status: str, planned: str, *, clock: int = 3,
           title: str = "认识分数", created: str = "2024-09-01T08:00:00+00:00") -> RemoteRecord:
    return remote(record_id, owner, clock=clock, created=created, title=title, subject="math", grade=3,
                  planned_date=planned, status=status)
