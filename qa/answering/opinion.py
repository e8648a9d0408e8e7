"""A second opinion from a language model on an extractive answer (``extractive+check``, and
the gate in front of ``local`` mode).

The scorer is fast but reads words, not meaning: a question that swaps a year or a name for
one the record uses elsewhere can still look answered. So the judging model is shown the
scorer's best sentence (after the one before it) and asked to answer from it with the
passage's words or say NONE. Its probability of starting an answer rather than NONE (from
the first token's logprobs, not from sampled text) and the scorer's support are combined by a two-weight logistic model fitted on
the scorer's training data (``opinion.json``, written by ``eval.fit_opinion``); the result is
the answer's support, and the refusal threshold was set on the validation split. The model
never writes the answer, so it cannot put words in the record's mouth.

Two designs lost to it on the validation split (``opinion.md``): a sampled copy-or-NONE
reply (it said NONE to more than half of the right answers) and a yes/no question's P(yes).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from qa.answering.base import Draft, Toolkit
from qa.answering.checks import MalformedOutput
from qa.answering.extractive import ExtractiveAnswerer
from qa.answering.features import Candidate, previous
from qa.answering.scorer import sigmoid
from qa.errors import ConfigError
from qa.settings import Settings
from qa.text import shorten
from qa.types import Citation, Passage

log = logging.getLogger(__name__)

OPINION_PATH = Path(__file__).with_name("opinion.json")


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def opinion_inputs(support: float, judge: float) -> tuple[float, float]:
    """What the combination of scorer and judge sees: both probabilities as log-odds."""
    return _logit(support), _logit(judge)


def judge_context(c: Candidate) -> str:
    """The sentence to judge, after the one before it in its paragraph (what "it" or "the
    agency" refers to is often there)."""
    before = previous(c)
    return f"{before.sentence} {c.sentence}" if before is not None else c.sentence


def judge_messages(question: str, c: Candidate) -> list[dict[str, str]]:
    """The chat messages asking the model to answer from the candidate's passage or say NONE."""
    return [
        {"role": "system", "content": "You answer questions using only the given passage."},
        {
            "role": "user",
            "content": (
                f"Passage: {judge_context(c)}\n\nQuestion: {question}\n\n"
                "Answer with the exact words from the passage. If the passage does not answer "
                "the question, reply NONE."
            ),
        },
    ]


# First tokens that begin a refusal; any other token begins an answer ("Norm" of "Normandy" is
# not "NO").
_NONE_TOKENS = frozenset({"NONE", "NO", "NOT"})


def p_answers(client: Any, model: str, messages: list[dict[str, str]]) -> float:
    """The model's probability of starting an answer rather than NONE, read from its first
    token's logprobs (only one token is generated: the check costs the prompt's prefill)."""
    done = client.chat.completions.create(
        model=model, messages=messages, temperature=0, max_tokens=1, logprobs=True, top_logprobs=10
    )
    choice = done.choices[0]
    content = choice.logprobs.content if choice.logprobs is not None else None
    if not content or not content[0].top_logprobs:
        raise MalformedOutput("the judging model returned no logprobs")
    none = sum(
        math.exp(t.logprob) for t in content[0].top_logprobs if t.token.strip(" .\"'").upper() in _NONE_TOKENS
    )
    return min(1.0, max(0.0, 1.0 - none))


@dataclass(frozen=True)
class Opinion:
    """How the judge's P(answers) and the scorer's support combine, and where to refuse."""

    coef: tuple[float, float]
    intercept: float
    threshold: float
    card: dict[str, Any]

    def support(self, support: float, p_answers: float) -> float:
        """The calibrated probability that the scorer's answer is right, given the judge."""
        s, j = opinion_inputs(support, p_answers)
        return sigmoid(self.coef[0] * s + self.coef[1] * j + self.intercept)


@lru_cache(maxsize=4)
def load_opinion(path: Path = OPINION_PATH) -> Opinion:
    """The combination in ``path`` (by default the one shipped with the package)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Opinion(
            (float(data["coef"][0]), float(data["coef"][1])),
            float(data["intercept"]),
            float(data["threshold"]),
            dict(data.get("card", {})),
        )
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise ConfigError(
            f"Cannot read the second-opinion model {path} ({e}). Reinstall the package, or refit "
            "it: python -m eval.probe_opinion && python -m eval.fit_opinion"
        ) from e


class CheckedAnswerer:
    """The extractive answer, kept only when scorer and judging model together support it."""

    name = "extractive+check"

    def __init__(self, settings: Settings, client: Any, model: str, opinion: Opinion | None = None):
        self.settings = settings
        # opinion.json was fitted on the feature scorer's support and its sentence; until it is
        # refitted on the reader's (make train-opinion), the check keeps judging what it was fit on.
        self.extractive = ExtractiveAnswerer(settings.model_copy(update={"judge": "scorer"}))
        self.client = client
        self.model = model
        self.opinion = opinion or load_opinion()

    @property
    def threshold(self) -> float:
        return (
            self.settings.refuse_below if self.settings.refuse_below is not None else self.opinion.threshold
        )

    def answer(self, question: str, passages: Sequence[Passage], tools: Toolkit) -> Draft:
        judged = self.extractive.judge(question, passages, tools)
        if not judged.ranked:
            return self.extractive.answer(question, passages, tools, judged=judged)  # refused by rule
        best = judged.ranked[0].candidate
        try:
            yes = p_answers(self.client, self.model, judge_messages(question, best))
        except Exception as e:  # noqa: BLE001 - any failure of the model leaves the scorer's answer
            log.warning("second opinion failed: %s", e)
            draft = self.extractive.answer(question, passages, tools, judged=judged)
            return replace(
                draft,
                notes=(
                    *draft.notes,
                    f"second opinion unavailable ({shorten(str(e))}); scorer's answer shown",
                ),
            )
        support = self.opinion.support(judged.support, yes)
        draft = self.extractive.answer(
            question, passages, tools, judged=replace(judged, support=support), threshold=self.threshold
        )
        note = (
            f"checked by {self.model}: P(answers) {yes:.2f} that {_key(best)} answers; "
            f"support {judged.support:.2f} from the scorer, {support:.2f} with the check"
        )
        return replace(draft, notes=(*draft.notes, note))


def _key(c: Candidate) -> str:
    return Citation(c.passage.paragraph.exhibit, c.passage.paragraph.number, "").render()


def for_settings(settings: Settings) -> CheckedAnswerer:
    """The second opinion from the model ``settings.second_opinion_from`` names: the packaged
    local model (started on demand) or the configured OpenAI-compatible endpoint."""
    import openai

    if settings.second_opinion_from == "openai":
        from qa.answering.llm import LLMAnswerer

        endpoint = LLMAnswerer.for_endpoint(settings)  # says what to set when nothing is
        return CheckedAnswerer(settings, endpoint.client, endpoint.model)
    from qa.answering.local import ensure_server, judge_settings

    server = ensure_server(judge_settings(settings))
    client = openai.OpenAI(
        base_url=server.base_url, api_key="local", timeout=settings.llm_timeout, max_retries=1
    )
    return CheckedAnswerer(settings, client, server.model)
