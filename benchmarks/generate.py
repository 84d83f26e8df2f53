"""Seeded generator of realistic company profiles, as JSON Lines.

Importable (``profiles(n, seed)`` / ``write(path, n, seed)``) and runnable::

    python benchmarks/generate.py 100000 > profiles.jsonl
    python benchmarks/generate.py 100000 --out profiles.jsonl --seed 7 --invalid 0.01
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_SYLLABLES = [
    "ai",
    "lex",
    "nova",
    "tiny",
    "llama",
    "deep",
    "mind",
    "quant",
    "flux",
    "sage",
    "byte",
    "core",
    "mesa",
    "orbit",
    "pilot",
    "prism",
    "qubit",
    "rune",
    "spark",
    "tensor",
    "vector",
    "zen",
    "loom",
    "forge",
]
_SUFFIX = ["", " Labs", " AI", " Inc", " Systems", " Technologies", " GmbH", " Ltd"]
_SECTORS = ["legal", "healthcare", "fintech", "devtools", "security", "education", "retail", "logistics", "media"]
_COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "CA", "IL", "IN", "SG", "NL", "SE"]
_STAGES = ["pre-seed", "seed", "seed", "series-a", "series-a", "series-b", "series-c", "growth"]
_BACKGROUNDS = ["frontier-lab", "big-tech", "academia", "startup", "industry", "finance", "consulting", "other"]
_BASES = [
    "Llama 3.1 8B",
    "Llama 3.1 70B",
    "Mistral 7B",
    "Qwen2.5 32B",
    "Gemma 2 9B",
    "GPT-4o",
    "Claude 3.5 Sonnet",
    "DeepSeek V3",
    "Phi-3 mini",
    None,
]
_APPROACHES = ["fine-tune", "distill", "merge", "rag", "prompting", "pretrain", "api-wrapper"]
_GPU = ["none", "low", "medium", "high"]
_PRICING = ["usage", "seat", "license", "open-core", "none"]
_BENCHMARKS = ["MMLU", "GSM8K", "HumanEval", "LegalBench", "MedQA"]


def profile(rng: random.Random, number: int) -> dict[str, Any]:
    """One profile; fields are dropped at random so that coverage varies like real deal data."""
    stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
    name = f"{stem.capitalize()} {number}{rng.choice(_SUFFIX)}"
    stage = rng.choice(_STAGES)
    size = max(1, int(rng.lognormvariate(2.8, 1.0)))
    raised = int(rng.lognormvariate(16, 1.5))
    founded = rng.randint(2012, 2026)
    as_of = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 320))
    data: dict[str, Any] = {
        "name": name,
        "website": f"https://www.{stem}{number}.ai",
        "as_of": as_of.isoformat(),
        "founded": founded,
        "hq_country": rng.choice(_COUNTRIES),
        "sector": rng.choice(_SECTORS),
        "stage": stage,
        "team": {
            "size": size,
            "founders": [
                {
                    "name": f"Founder {i}",
                    "background": rng.sample(_BACKGROUNDS, rng.randint(1, 2)),
                    "prior_exit": rng.random() < 0.2,
                }
                for i in range(rng.randint(1, 3))
            ],
        },
        "funding": {
            "total_raised": raised,
            "last_round": {
                "stage": stage,
                "amount": int(raised * rng.uniform(0.3, 0.8)),
                "date": (as_of - dt.timedelta(days=rng.randint(10, 700))).isoformat(),
                "lead": rng.choice(["Sequoia", "a16z", "Index", "Balderton", "Accel"]),
            },
        },
        "model": {
            "base": rng.choice(_BASES),
            "approach": rng.choice(_APPROACHES),
            "test_time_compute": rng.random() < 0.4,
        },
        "compute": {
            "gpu_dependence": rng.choice(_GPU),
            "training_share": round(rng.random(), 2),
            "monthly_compute": int(rng.lognormvariate(10, 1.5)),
        },
        "traction": {
            "arr": int(rng.lognormvariate(13, 2)),
            "gross_margin": round(rng.uniform(0.1, 0.9), 2),
            "pricing": rng.choice(_PRICING),
            "customers": int(rng.lognormvariate(3, 1.5)),
        },
        "benchmarks": [
            {"name": b, "score": round(rng.uniform(40, 90), 1), "frontier": round(rng.uniform(80, 95), 1)}
            for b in rng.sample(_BENCHMARKS, rng.randint(0, 2))
        ],
    }
    for section, keys in (
        ("", ["founded", "hq_country", "sector", "as_of"]),
        ("traction", ["arr", "gross_margin"]),
        ("compute", ["training_share", "monthly_compute"]),
        ("model", ["base", "approach"]),
    ):
        target = data[section] if section else data
        for key in keys:
            if rng.random() < 0.15:
                target.pop(key, None)
    if data["model"].get("base") is None:
        data["model"].pop("base", None)
    return data


def profiles(n: int, seed: int = 42, invalid: float = 0.0, duplicates: float = 0.0) -> Iterator[dict[str, Any]]:
    """``n`` profiles; a share ``invalid`` carry a bad value, a share ``duplicates`` repeat an earlier company."""
    rng = random.Random(seed)
    for number in range(n):
        if duplicates and number and rng.random() < duplicates:
            data = profile(random.Random(seed * 1_000_003 + rng.randrange(number)), 0)
        else:
            data = profile(rng, number)
        if invalid and rng.random() < invalid:
            data["team"]["size"] = "lots"
        yield data


def write(path: Path, n: int, seed: int = 42, invalid: float = 0.0, duplicates: float = 0.0) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for data in profiles(n, seed, invalid, duplicates):
            handle.write(json.dumps(data, separators=(",", ":")))
            handle.write("\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--invalid", type=float, default=0.0, help="share of records with a bad value")
    parser.add_argument("--duplicates", type=float, default=0.0, help="share of records repeating a company")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.out:
        write(args.out, args.n, args.seed, args.invalid, args.duplicates)
    else:
        for data in profiles(args.n, args.seed, args.invalid, args.duplicates):
            sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
