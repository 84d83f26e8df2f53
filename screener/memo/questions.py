"""Diligence questions, phrased for people, for the profile fields a screen found missing.

The screening result names what to find out (``Find out the gross margin …``); a memo asks it
the way an analyst would. A field without a phrasing here is asked for from its description in
the field catalogue, and a test keeps every field the default pack can miss phrased.
"""

from __future__ import annotations

from screener.rules import catalogue
from screener.rules.catalogue import PackSchema

_QUESTIONS = {
    "as_of": "When were these facts last verified?",
    "founded": "When was the company founded?",
    "hq_country": "Where is the company headquartered?",
    "sector": "Which sector does the company sell into?",
    "stage": "What stage is the company at: which round did it last raise?",
    "team.size": "How many people work full time at the company?",
    "team.founders": "Who are the founders, and what did they do before?",
    "funding.total_raised": "How much has the company raised to date?",
    "funding.last_round.stage": "What stage was the last round?",
    "funding.last_round.amount": "How large was the last round?",
    "funding.last_round.date": "When did the company last raise?",
    "funding.last_round.lead": "Who led the last round?",
    "model.base": "Which base model is the product built on?",
    "model.family": "Which model family does the product use?",
    "model.open_weights": "Does the company control the weights of its base model, or rent a closed API?",
    "model.license": "Under which licence is the base model released?",
    "model.approach": "How does the company adapt the model: fine-tuning, distillation, merging, prompting, or its own pre-training?",
    "model.test_time_compute": "Does the product spend compute at inference time (reasoning, search)?",
    "compute.gpu_dependence": "How much does the business depend on scarce GPUs?",
    "compute.owned_gpus": "How many GPUs does the company own?",
    "compute.monthly_compute": "What does the company spend on compute each month?",
    "compute.training_share": "What share of compute goes to training rather than serving customers?",
    "traction.arr": "What is the annual recurring revenue?",
    "traction.gross_margin": "What is the gross margin?",
    "traction.pricing": "How is the product priced: per use, per seat, or otherwise?",
    "traction.customers": "How many paying customers are there?",
    "benchmarks": "How does the model score against the frontier on the benchmarks that matter to its customers?",
}


def ask(path: str, pack: PackSchema | None = None) -> str:
    """The question whose answer would fill in the profile field at ``path``.

    A field the pack declares is asked with the question the pack gives it, or from its description.
    """
    pack = pack or catalogue.builtin()
    declared = pack.question(path)
    if declared:
        return declared
    if path in _QUESTIONS:
        return _QUESTIONS[path]
    described = pack.describe(path)
    what = described if described else path.replace(".", " ").replace("_", " ")
    return f"What is {what}?"


def phrased() -> frozenset[str]:
    """The fields with a question of their own (the rest are asked from their description)."""
    return frozenset(_QUESTIONS)
