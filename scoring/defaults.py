"""The rules a new desk starts with, from the seeds' guidance.

Demo, pricing and trial make a hand-raiser; content and webinars a
researcher; a newsletter light interest; a score of 50 is the example hot
threshold. Managers tune everything from here on.
"""

from __future__ import annotations

from typing import Any

FIT_RULES: list[dict[str, Any]] = [
    {"name": "Target industry", "kind": "industry_in", "points": 15,
     "values": ["Software", "SaaS", "Fintech", "Financial Services", "Technology", "Internet", "Computer Software",
                "Information Technology", "Marketing", "E-commerce"]},
    {"name": "Mid-market size (51-1,000)", "kind": "employees_between", "points": 20, "min_value": 51,
     "max_value": 1000},
    {"name": "Enterprise size (1,001+)", "kind": "employees_between", "points": 15, "min_value": 1001},
    {"name": "Micro company (1-10)", "kind": "employees_between", "points": -10, "min_value": 0, "max_value": 10},
    {"name": "Served region", "kind": "country_in", "points": 10, "values": ["NA", "UKI", "DACH", "BENELUX",
                                                                          "NORDICS", "FR", "ANZ"]},
    {"name": "Senior buyer", "kind": "title_matches", "points": 20,
     "values": ["VP", "Vice President", "Head of", "Director", "Chief", "C[EROTM]O", "Founder", "Co-founder",
                "Owner", "President"]},
    {"name": "Revenue team role", "kind": "title_matches", "points": 10,
     "values": ["Sales", "Revenue", "RevOps", "Demand Gen\\w*", "Marketing", "SDR", "BDR", "Growth"]},
    {"name": "Uses a CRM we integrate with", "kind": "tech_in", "points": 5,
     "values": ["Salesforce", "HubSpot", "Pipedrive", "Dynamics"]},
    {"name": "Personal email", "kind": "personal_email", "points": -10},
    {"name": "Competitor", "kind": "competitor_domain", "points": -50,
     "values": ["chilipiper.com", "outreach.io", "revenue.io", "salesloft.com"]},
    {"name": "Student or job seeker", "kind": "student_or_job_seeker", "points": -30},
]

INTENT_RULES: list[dict[str, Any]] = [
    {"signal": "demo_request", "points": 40, "cap": 60, "tier": "hand_raiser"},
    {"signal": "pricing_request", "points": 35, "cap": 50, "tier": "hand_raiser"},
    {"signal": "trial_signup", "points": 30, "cap": 45, "tier": "hand_raiser"},
    {"signal": "contact_request", "points": 30, "cap": 40, "tier": "hand_raiser"},
    {"signal": "trial_milestone", "points": 15, "cap": 45, "tier": "hand_raiser"},
    {"signal": "pricing_page_view", "points": 10, "cap": 25, "tier": "none"},
    {"signal": "return_visit", "points": 5, "cap": 15, "tier": "none", "window_days": 7},
    {"signal": "email_reply", "points": 15, "cap": 30, "tier": "none"},
    {"signal": "content_download", "points": 10, "cap": 25, "tier": "researcher"},
    {"signal": "webinar_registration", "points": 8, "cap": 16, "tier": "researcher"},
    {"signal": "webinar_attended", "points": 12, "cap": 24, "tier": "researcher"},
    {"signal": "newsletter", "points": 3, "cap": 3, "tier": "light"},
    {"signal": "page_view", "points": 1, "cap": 10, "tier": "none"},
]

DEFAULT_CRITERIA: dict[str, Any] = {
    "name": "Default: hand-raisers and score 50+",
    "is_default": True,
    "mode": "any",
    "min_score": 50,
    "form_types": ["demo_request", "pricing", "trial_signup"],
    "on_trial_milestone": True,
    "on_pricing_return_visit": True,
    "within_days": 30,
}
