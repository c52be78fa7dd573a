"""Records with every field filled, one per kind, for the document tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.models.fields import Kind

LESSON: dict[str, Any] = {
    "title": "认识分数",
    "subject": "math",
    "grade": 3,
    "class_name": "三（2）班",
    "planned_date": dt.date(2026, 9, 1),
    "duration_minutes": 40,
    "unit": "第八单元 分数的初步认识",
    "objectives": "理解几分之一的含义。\n能读写简单的分数。",
    "key_points": "重点：分数的意义；难点：平均分。",
    "materials": "圆形纸片、课件",
    "procedure": [
        {"phase": "导入", "minutes": 5, "teacher": "分月饼的故事", "students": "讨论怎样分才公平"},
        {"phase": "新授", "minutes": 25, "teacher": "折纸认识二分之一", "students": "动手折一折、涂一涂"},
        {"phase": "练习", "minutes": 10, "teacher": "出示练习题", "students": "独立完成并交流"},
    ],
    "assessment": "课堂练习正确率",
    "homework": "课本第 92 页第 1、2 题",
    "reflection": "学生对平均分理解较好。",
    "tags": ["分数", "三年级"],
}

TRAINING: dict[str, Any] = {
    "title": "乡村教师暑期研修",
    "training_type": "summer_institute",
    "provider": "县教师进修学校",
    "start_date": dt.date(2026, 7, 10),
    "end_date": dt.date(2026, 7, 20),
    "hours": 36.5,
    "location": "县城第一中学",
    "online": True,
    "topics": "大单元教学设计",
    "takeaways": "以任务驱动课堂",
    "action_plan": "九月在本班试行",
}

EXCHANGE: dict[str, Any] = {
    "partner_school": "山阳镇中心小学",
    "exchange_type": "observation",
    "direction": "we_visited",
    "exchange_date": dt.date(2026, 10, 15),
    "duration_hours": 3.5,
    "teacher_count": 6,
    "student_count": 120,
    "activities": "听评课两节",
    "observations": "小组合作组织有序",
    "outcomes": "约定下学期回访",
}

SAMPLES: dict[Kind, dict[str, Any]] = {
    Kind.LESSON_PLAN: LESSON, Kind.TRAINING: TRAINING, Kind.EXCHANGE: EXCHANGE,
}
AUTHOR = "李老师"
