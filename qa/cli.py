"""The ``exhibitqa`` command: index, ask, show, exhibits."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from qa.errors import ExhibitQAError, UnknownParagraphError, UsageError
from qa.settings import Settings

DEFAULT_SOURCES = [Path("data/exhibits")]


def _settings(args: argparse.Namespace) -> Settings:
    update = {}
    if getattr(args, "store", None):
        update["store"] = Path(args.store)
    if getattr(args, "mode", None):
        update["mode"] = args.mode
    if getattr(args, "k", None):
        update["k"] = args.k
    return Settings(**update)  # type: ignore[arg-type]


def cmd_index(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from index.manifest import BuildReport
    from index.store import build

    settings = _settings(args)
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="embedding", unit="window", file=sys.stderr)
        bar.update(done - bar.n)

    paths = [Path(p) for p in args.paths] or DEFAULT_SOURCES
    reuse = [Path(p) for p in args.reuse_from or []]

    def waiting() -> None:
        print(f"Another build of {settings.store} is running; waiting for it to finish...", file=sys.stderr)

    def lexical(r: BuildReport) -> None:
        print(
            f"Lexical index ready in {r.lexical_s:.1f} s: questions are answered now (BM25); "
            f"embedding {r.embedded} texts for dense search...",
            file=sys.stderr,
        )

    report = build(
        paths,
        settings,
        rebuild=args.rebuild,
        progress=progress,
        reuse_from=reuse,
        on_wait=waiting,
        on_lexical=lexical,
    )
    if bar is not None:
        bar.close()
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if report.rebuilt:
        print(
            f"Indexed {report.exhibits} exhibits, {report.paragraphs} paragraphs "
            f"({report.vectors} vectors, {report.reused_vectors} reused) in {report.seconds:.1f} s "
            f"into {report.store} [{report.reason}]."
        )
    else:
        print(
            f"Index in {report.store} is up to date: {report.exhibits} exhibits, {report.paragraphs} paragraphs."
        )
    return 0


def cmd_exhibits(args: argparse.Namespace) -> int:
    from index.store import check_current

    manifest = check_current(_settings(args).store, _settings(args))
    print(f"{'Ex.':>5}  {'¶s':>5}  {'web':>4}  {'zh':>4}  {'pairs':>5}  title")
    for e in manifest["exhibits"]:
        problem = f"  [{e['problem']}]" if e.get("problem") else ""
        title = e["title"] or Path(e["source"]).name
        print(
            f"{e['number']:>5}  {e['paragraphs']:>5}  {e.get('boilerplate', 0):>4}  {e.get('chinese', 0):>4}"
            f"  {e.get('aligned_pairs', 0):>5}  {title}{problem}"
        )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from index.store import load_paragraphs
    from qa.cites import render

    paras = {(p.exhibit, p.number): p for p in load_paragraphs(_settings(args).store)}
    p = paras.get((args.exhibit, args.paragraph))
    if p is None:
        last = max((n for e, n in paras if e == args.exhibit), default=0)
        hint = (
            f"Exhibit {args.exhibit} has paragraphs 1-{last}."
            if last
            else f"There is no Exhibit {args.exhibit}."
        )
        raise UnknownParagraphError(f"No paragraph {render(args.exhibit, args.paragraph)}. {hint}")
    print(f"{render(p.exhibit, p.number)} {p.title}")
    page = f", page {p.page}" if p.page else ""
    web = ", web boilerplate" if p.boilerplate else ""
    print(f"(lang {p.lang}, characters {p.start}-{p.end} of the source{page}{web})")
    if p.heading:
        print(f"Section: {p.heading}")
    print()
    print(p.text)
    for n in p.aligned:
        other = paras[(p.exhibit, n)]
        label = "Chinese original" if other.lang == "zh" else "English translation"
        print(f"\n{label}: {render(p.exhibit, n)}\n{other.text}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.api import ask
    from qa.questions import clean_question
    from qa.types import Citation
    from qa.understand import declined

    settings = _settings(args)
    question = clean_question(args.question)
    why_not = declined(question, settings.max_question_chars)
    if why_not:
        raise UsageError(why_not)
    # Each earlier question is answered first, so a follow-up leans on its answer as in the chat.
    history = [ask(h, exhibits=args.exhibit or None, settings=settings) for h in args.after or []]
    answer = ask(question, exhibits=args.exhibit or None, settings=settings, history=history)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    for c in answer.citations:
        print(f"  {c.render()} \u201c{c.quote}\u201d")
    if answer.support_label is not None:
        caution = ": check it against the closest passages" if answer.uncertain else ""
        print(f"  support: {answer.support:.2f}, {answer.support_label}{caution}")
    if (answer.refused or answer.uncertain) and answer.passages:
        print("  closest passages, for you to check:")
        for passage in answer.passages[:3]:
            para = passage.paragraph
            snippet = " ".join(para.text.split())
            snippet = snippet if len(snippet) <= 160 else snippet[:159] + "\u2026"
            print(
                f"    {Citation(para.exhibit, para.number, '', original=para.lang == 'zh').render()} {snippet}"
            )
    for d in answer.dropped:
        print(f"  removed: \u201c{d.sentence}\u201d ({d.reason})")
    for n in answer.notes:
        print(f"  note: {n}")
    if answer.usage is not None:
        u = answer.usage
        about = "about " if u.estimated else ""
        print(f"  tokens: {about}{u.prompt_tokens} prompt + {u.completion_tokens} completion ({u.model})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from eval.bench import run_bench, to_markdown, write

    paths = [Path(p) for p in args.paths] or DEFAULT_SOURCES
    try:
        scales = tuple(int(f) for f in args.scales.split(","))
    except ValueError:
        raise UsageError(f"--scales {args.scales!r}: give factors like 1,10,100.") from None
    result = run_bench(paths, Path(args.gold), _settings(args), quick=args.quick, scales=scales)
    files = write(result, Path(args.out))
    if args.docs:
        from eval.docs import write_benchmark

        files.append(
            write_benchmark(to_markdown(result), Path(args.out) / "bench.png", Path(args.docs), args.quick)
        )
    print(to_markdown(result))
    print(f"Wrote {', '.join(str(f) for f in files)}")
    return 0


def cmd_local(args: argparse.Namespace) -> int:
    from qa.answering.local import ensure_server, running_server, stop_servers

    settings = _settings(args)
    if args.action == "start":
        server = ensure_server(settings)
        print(f"local model server at {server.base_url} (pid {server.pid}, model {server.model})")
    elif args.action == "stop":
        print("stopped" if stop_servers(settings) else "no local model server was running")
    else:
        found = running_server(settings)
        print(f"running at {found.base_url} (pid {found.pid})" if found else "not running")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from eval import report as report_mod
    from eval.run import run_eval

    settings = _settings(args)
    bar = tqdm(desc="eval", unit="question", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    report = run_eval(
        Path(args.gold),
        settings,
        mode=args.mode,
        k=args.k,
        limit=args.limit,
        sample=args.sample,
        baselines=args.baselines,
        progress=progress,
    )
    bar.close()
    files = report_mod.write(report, Path(args.out))
    print(report_mod.summary_table(report))
    if report.get("baselines"):
        print()
        print(report_mod.baselines_table(report))
    print(f"\nWrote {', '.join(str(f) for f in files)}")
    return 0


EXIT_CODES = """exit status:
  0  done; a refusal ("The exhibits do not answer this.") is an answer and exits 0
  1  what the command runs on failed: no index, a damaged or stale one, a Chroma or model
     server that does not answer, a disk it cannot write
  2  usage error: bad arguments, an empty question, an unknown exhibit, mode or paragraph,
     exhibit files that cannot be read
  130 interrupted (the previous index, if any, is unchanged)
With --json, stdout is JSON in every case: the answer, or {"error": ..., "exit_code": ...}."""


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but a usage error under ``--json`` still prints JSON on stdout."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            print(json.dumps({"error": message, "exit_code": 2}))
        super().error(message)  # usage and message on stderr, exit 2


def parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="exhibitqa",
        description="Ask a record of exhibits; answers carry pin cites.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--store", help="index directory (default .exhibitqa, or EXHIBITQA_STORE)")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index")
    p.add_argument("paths", nargs="*", help="exhibit files or folders (default data/exhibits)")
    p.add_argument("--store", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--rebuild", action="store_true", help="rebuild even if the index is current")
    p.add_argument(
        "--reuse-from",
        action="append",
        metavar="STORE",
        help="take vectors of unchanged text from another store",
    )
    p.set_defaults(fn=cmd_index)

    p = sub.add_parser("ask", help="answer a question with pin cites")
    p.add_argument("question")
    p.add_argument("--exhibit", type=int, action="append", help="search only this exhibit (repeatable)")
    p.add_argument(
        "--after",
        action="append",
        metavar="QUESTION",
        help="an earlier question the question follows up (repeatable, oldest first)",
    )
    p.add_argument("--mode", help="answerer: extractive (default), openai or local")
    p.add_argument("-k", type=int, help="passages to retrieve")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--store", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.set_defaults(fn=cmd_ask)

    p = sub.add_parser("eval", help="score answers and retrieval against a gold set")
    p.add_argument("--gold", default="eval/gold/exhibits_61_70.jsonl", help="gold JSONL file")
    p.add_argument("--mode", help="answerer to evaluate (default: settings)")
    p.add_argument("--k", type=int, help="passages given to the answerer (default 8)")
    p.add_argument("--limit", type=int, help="only the first N items")
    p.add_argument("--sample", type=int, help="only N items, evenly spaced through the gold set")
    p.add_argument("--out", default="eval/results/latest", help="report directory")
    p.add_argument("--baselines", action="store_true", help="also run BM25-only, dense-only and LlamaIndex")
    p.add_argument("--store", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.set_defaults(fn=cmd_eval)

    p = sub.add_parser("bench", help="time indexing and answering, beside LlamaIndex out of the box")
    p.add_argument("paths", nargs="*", help="exhibit files or folders (default data/exhibits)")
    p.add_argument("--gold", default="eval/gold/exhibits_61_70.jsonl", help="questions to time (gold JSONL)")
    p.add_argument(
        "--quick", action="store_true", help="only the 1x measurements (skip the 10x/100x scaling runs)"
    )
    p.add_argument("--scales", default="1,10,100", help="record sizes of the scaling runs, as factors")
    p.add_argument("--out", default="eval/results", help="directory for bench.json, bench.md, bench.png")
    p.add_argument(
        "--docs", default="docs", help="where benchmark.md is generated ('' to leave the docs alone)"
    )
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("local", help="start, stop or check the packaged local model's server")
    p.add_argument("action", choices=["start", "stop", "status"])
    p.set_defaults(fn=cmd_local)

    p = sub.add_parser("show", help="print one paragraph, e.g. `show 61 12`")
    p.add_argument("exhibit", type=int)
    p.add_argument("paragraph", type=int)
    p.add_argument("--store", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.set_defaults(fn=cmd_show)

    p = sub.add_parser("exhibits", help="list exhibits with titles and paragraph counts")
    p.add_argument("--store", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.set_defaults(fn=cmd_exhibits)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _Parser.json_errors = "--json" in argv
    args = parser().parse_args(argv)
    as_json = bool(getattr(args, "json", False))

    def fail(message: str, code: int) -> int:
        print(f"error: {message}", file=sys.stderr)
        if as_json:
            print(json.dumps({"error": message, "exit_code": code}, ensure_ascii=False))
        return code

    try:
        return int(args.fn(args))
    except ExhibitQAError as e:
        return fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        return fail("interrupted; the previous index (if any) is unchanged", 130)
    except BrokenPipeError:
        # The reader stopped early (`exhibitqa show 62 55 | head`) and has what it wanted. As
        # Python's signal docs advise, stdout goes to devnull so the exit flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # a bug: the traceback goes to stderr, stdout stays parseable
        if not as_json:
            raise
        import traceback

        traceback.print_exc()
        return fail(f"internal error: {e.__class__.__name__}: {e}", 1)


if __name__ == "__main__":
    raise SystemExit(main())
