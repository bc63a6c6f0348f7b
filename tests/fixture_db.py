"""A tiny database written by hand, so that expected numbers can be worked out by hand.

As of 2026-11-22. Six items:
  A1  340102 瑶海区 (county of 合肥)   乡村振兴  农业农村局      key     2026-01-05 → 2026-12-31  in_progress  500
  A2  340100 合肥市 (city)            营商环境  市场监督管理局  normal  2025-03-01 → 2025-12-31  completed 2025-12-20  1200
  A3  340000 安徽省 (province)        营商环境  发展和改革委员会 urgent  2026-06-01 → 2027-06-30  in_progress  30000
  B1  110105 朝阳区 (北京 district)   民生保障  住房和城乡建设局 key     2025-06-01 → 2026-09-30  in_progress  800
  C1  419001 济源市 (province-administered county of 河南)  乡村振兴  农业农村局  normal  2026-12-15 → 2027-12-31  not_started  100
  N1  100000 national                科技创新  科学技术局      key     2024-01-01 → 2026-06-30  terminated 2025-05-01  (no budget)
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from analytics.db import store

AS_OF = date(2026, 11, 22)
D = date.fromisoformat

POLICIES = pl.DataFrame({
    "policy_id": ["P1", "P2", "P3", "P4"],
    "name": ["关于全面推进乡村振兴的实施意见", "优化营商环境若干措施", "城镇老旧小区改造实施方案", "科技创新行动计划"],
    "domain": ["乡村振兴", "营商环境", "民生保障", "科技创新"],
    "policy_type": ["economic", "economic", "social", "economic"],
    "issued_date": [D("2024-01-10"), D("2024-03-01"), D("2024-05-20"), D("2023-12-01")],
})

PROJECTS = pl.DataFrame({
    "project_id": ["A1", "A2", "A3", "B1", "C1", "N1"],
    "name": ["高标准农田建设", "企业开办一网通办", "工程建设项目审批改革", "老旧小区改造", "农村人居环境整治", "关键核心技术攻关"],
    "policy_id": ["P1", "P2", "P2", "P3", "P1", "P4"],
    "domain": ["乡村振兴", "营商环境", "营商环境", "民生保障", "乡村振兴", "科技创新"],
    "region_code": ["340102", "340100", "340000", "110105", "419001", "100000"],
    "lead_dept": ["农业农村局", "市场监督管理局", "发展和改革委员会", "住房和城乡建设局", "农业农村局", "科学技术局"],
    "co_depts": [["财政局", "自然资源局"], [], ["住房和城乡建设局"], ["财政局"], None, []],
    "priority": ["key", "normal", "urgent", "key", "normal", "key"],
    "start_date": [D("2026-01-05"), D("2025-03-01"), D("2026-06-01"), D("2025-06-01"), D("2026-12-15"), D("2024-01-01")],
    "planned_end_date": [D("2026-12-31"), D("2025-12-31"), D("2027-06-30"), D("2026-09-30"), D("2027-12-31"),
                         D("2026-06-30")],
    "actual_end_date": [None, D("2025-12-20"), None, None, None, D("2025-05-01")],
    "budget_wan_yuan": [500.0, 1200.0, 30000.0, 800.0, 100.0, None],
    "status": ["in_progress", "completed", "in_progress", "in_progress", "not_started", "terminated"],
})

PROGRESS = pl.DataFrame({
    "project_id": ["A1", "A1", "A1", "B1", "B1", "A2"],
    "report_date": [D("2026-06-30"), D("2026-09-30"), D("2026-11-20"), D("2026-06-30"), D("2026-10-31"),
                    D("2025-12-20")],
    "planned_progress_pct": [45.0, 70.0, 90.0, 80.0, 100.0, 100.0],
    "actual_progress_pct": [40.0, 60.0, 75.0, 70.0, 85.0, 100.0],
    "rag": ["green", "amber", "amber_red", "amber", "red", "green"],
})

FEEDBACK = pl.DataFrame({
    "feedback_id": ["F1", "F2", "F3"],
    "received_at": [datetime(2026, 8, 1, 9), datetime(2026, 10, 3, 14), datetime(2025, 11, 2, 10)],
    "channel": ["hotline_12345", "rating", "hotline_12345"],
    "region_code": ["110105", "340102", "340100"],
    "project_id": ["B1", "A1", None],
    "domain": ["民生保障", "乡村振兴", "营商环境"],
    "satisfaction": [2, 5, 3],
    "is_complaint": [True, False, True],
    "category": ["施工扰民", "服务评价", "审批"],
    "responded_at": [datetime(2026, 8, 2, 9), None, datetime(2025, 11, 2, 18)],
    "is_resolved": [False, None, True],
    "text": ["张先生 138****1234 反映小区改造施工噪音大", "办事顺利", "营业执照办理等待时间长"],
})

RECTIFICATIONS = pl.DataFrame({
    "rectification_id": ["R1", "R2"],
    "project_id": ["B1", None],
    "region_code": ["110105", "340100"],
    "source": ["inspection", "audit"],
    "found_date": [D("2026-07-15"), D("2025-10-01")],
    "description": ["施工进度滞后于计划", "专项资金拨付不及时"],
    "responsible_dept": ["住房和城乡建设局", "财政局"],
    "deadline": [D("2026-08-15"), D("2025-11-30")],
    "closed_date": [None, D("2025-11-20")],
    "status": ["in_progress", "closed"],
    "is_relapse": [False, False],
})


def build(path: Path, source: str = "tests/fixture_db.py", description: str = "hand-made fixture",
          **tables: pl.DataFrame) -> Path:
    """The fixture database at `path`; a test file may pass its own frame for any table (`rectifications=…`)."""
    frames = {"policies": POLICIES, "projects": PROJECTS, "progress_reports": PROGRESS, "feedback": FEEDBACK,
              "rectifications": RECTIFICATIONS} | tables
    con = store.connect(path)
    store.create_schema(con)
    store.install_regions(con)
    for name, frame in frames.items():
        store.write_table(con, name, frame)
    store.record_version(con, "test", source, AS_OF, description)
    con.close()
    return path
