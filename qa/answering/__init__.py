"""How a question and its retrieved passages become a cited answer.

``base`` is the interface every answerer implements; ``extractive`` quotes sentences, ranked and
judged by the learned ``scorer`` on ``features``; ``opinion`` lets a model veto or re-pick an
extractive answer; ``llm`` asks an OpenAI-compatible model (``prompt`` builds what it sees,
``checks`` verifies what it wrote); ``local`` runs the packaged model's server.
The registry is a plain dict, as llm keeps its models. Imports only go down that list.
"""

from __future__ import annotations

from collections.abc import Callable

from qa.answering.base import REFUSAL, Answerer, Draft, Toolkit, evidence
from qa.errors import UsageError
from qa.settings import Settings

__all__ = ["ANSWERERS", "REFUSAL", "Answerer", "Draft", "Toolkit", "evidence", "get_answerer"]


def _extractive(settings: Settings) -> Answerer:
    from qa.answering.extractive import ExtractiveAnswerer

    return ExtractiveAnswerer(settings)


def _openai(settings: Settings) -> Answerer:
    from qa.answering.llm import LLMAnswerer

    return LLMAnswerer.for_endpoint(settings, gate=_checked(settings) if settings.second_opinion else None)


def _local(settings: Settings) -> Answerer:
    import openai

    from qa.answering.llm import LLMAnswerer
    from qa.answering.local import ensure_server, judge_settings
    from qa.answering.opinion import CheckedAnswerer

    server = ensure_server(settings)
    gate = None
    if settings.second_opinion is not False:
        # A server of its own (local.judge_settings), so the writer's prompt prefix stays cached.
        judge = ensure_server(judge_settings(settings))
        client = openai.OpenAI(
            base_url=judge.base_url, api_key="local", timeout=settings.llm_timeout, max_retries=1
        )
        gate = CheckedAnswerer(settings, client, judge.model)
    return LLMAnswerer.for_local(settings, server, gate=gate)


def _checked(settings: Settings) -> Answerer:
    from qa.answering.opinion import for_settings

    return for_settings(settings)


ANSWERERS: dict[str, Callable[[Settings], Answerer]] = {
    "extractive": _extractive,
    "extractive+check": _checked,
    "openai": _openai,
    "local": _local,
}


def get_answerer(settings: Settings, mode: str | None = None) -> Answerer:
    name = mode or settings.mode
    if name not in ANSWERERS:
        raise UsageError(
            f"Unknown answer mode '{name}'. Choose one of: {', '.join(sorted(ANSWERERS))} "
            "(--mode, or EXHIBITQA_MODE)."
        )
    return ANSWERERS[name](settings)
