"""The `tally` command: parse flags, call the core, print progress and results."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from orchestration.settings import TARGETS, Settings

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BREAKS = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tally",
        description="Reconciliation as code: prove that your services' records agree.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser(
        "generate",
        help="write demo landing files and their ground truth",
        description=(
            "Writes demo landing files, DIR/<service>/<table>/*.csv, their ground truth "
            "under DIR/_expected/, and DIR/_tally_generated.json, the list of files it "
            "wrote. DIR must be new, empty, or written by an earlier `tally generate`: a "
            "rerun replaces only the files that list names and keeps anything else placed "
            "there. A non-empty folder without that list is refused: nothing is written or "
            "deleted."
        ),
    )
    generate.add_argument(
        "--out", type=Path, required=True, help="folder to write into (new, empty, or its own)"
    )
    generate.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    generate.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2026, 11, 1),
        help="first day, YYYY-MM-DD (default 2026-11-01)",
    )
    generate.add_argument("--days", type=int, default=14, help="number of days (default 14)")

    build = commands.add_parser(
        "build",
        help="load the landing files and run dbt build",
        description=(
            "Loads the landing files and the decision files of --decisions-dir (read only, "
            "never changed) and runs dbt build. On "
            "DuckDB dbt writes the working copy <db>.build (with .lock and .dirty beside "
            "it), and only a build without errors is published over <db>, through "
            "<db>.publishing: all or nothing, so on any failure, a full disk included, <db> "
            "is unchanged. Also writes metrics.prom beside <db> after every build, "
            "<db>.failed-builds.jsonl while failed builds wait to be recorded in "
            "marts.fct_recon_runs, and, unless --no-validate, the Data Docs of `tally "
            "validate`. See docs/operations.md."
        ),
    )
    build.add_argument("--landing", type=Path, help="landing folder (env TALLY_LANDING_DIR)")
    build.add_argument(
        "--decisions-dir",
        type=Path,
        help="decisions folder (env TALLY_DECISIONS_DIR, default data/decisions)",
    )
    build.add_argument("--as-of", help="the build's reference time, ISO 8601 (env TALLY_AS_OF)")
    build.add_argument(
        "--target",
        choices=list(TARGETS),
        help="warehouse engine (env TALLY_TARGET, default duckdb)",
    )
    build.add_argument("--duckdb-path", type=Path, help="DuckDB file (env TALLY_DUCKDB_PATH)")
    build.add_argument("--select", help="dbt selection, e.g. +recon_payments_psp+")
    build.add_argument("--full-refresh", action="store_true", help="rebuild every table")
    build.add_argument(
        "--fail-on-breaks",
        action="store_true",
        help=f"exit {EXIT_BREAKS} when a reconciliation has open breaks",
    )
    build.add_argument(
        "--fail-on-findings",
        action="store_true",
        help=f"exit {EXIT_BREAKS} when a landing table's staged inputs fail their expectations",
    )
    build.add_argument("--quiet", action="store_true", help="no per-node progress lines")
    build.add_argument(
        "--no-validate",
        action="store_true",
        help="skip the Great Expectations checkpoint that runs after a successful build",
    )

    validate = commands.add_parser(
        "validate",
        help="run the Great Expectations checkpoint on the staged inputs, update Data Docs",
        description=(
            "Checks every landing table's staged rows in the published warehouse (amounts, "
            "timestamps, formats, quarantine share; see docs/quality.md) and writes Data "
            "Docs into the docs folder, listing the files it wrote in _tally_data_docs.json "
            "there. A rerun replaces only those files; anything else in the folder is kept, "
            "and a file in the way that it did not write stops it before it changes "
            "anything. Failed expectations are findings: exit 0 unless --fail-on-findings."
        ),
    )
    validate.add_argument(
        "--target",
        choices=list(TARGETS),
        help="warehouse engine (env TALLY_TARGET, default duckdb)",
    )
    validate.add_argument("--duckdb-path", type=Path, help="DuckDB file (env TALLY_DUCKDB_PATH)")
    validate.add_argument(
        "--docs-dir", type=Path, help="Data Docs folder (default: data_docs beside the DuckDB file)"
    )
    validate.add_argument(
        "--fail-on-findings",
        "--fail-on-breaks",  # its name before the suites checked inputs only
        dest="fail_on_findings",
        action="store_true",
        help=f"exit {EXIT_BREAKS} when a landing table fails its expectations "
        "(--fail-on-breaks: the same, its older name)",
    )

    alert = commands.add_parser(
        "alert",
        help="send trigger/resolve events for broken windows and channel incidents",
        description=(
            "Reads the published marts and sends events. Writes the alert state and outbox "
            "<db-name>.alerts.sqlite (and its .lock) beside the DuckDB file and, without a "
            "webhook or routing, appends the events to alerts.log there. Deletes nothing."
        ),
    )
    alert.add_argument(
        "--webhook",
        help="send every event to this URL, overriding the routing file "
        "(env TALLY_ALERT_WEBHOOK_URL)",
    )
    alert.add_argument(
        "--requeue-rejected",
        action="store_true",
        help="first move every event the receiver rejected (the dead-letter table) back to "
        "the outbox and send it again, in its original order; run after fixing the cause",
    )
    alert.add_argument("--duckdb-path", type=Path, help="DuckDB file (env TALLY_DUCKDB_PATH)")

    decide = commands.add_parser(
        "decide",
        help="record a decision on a break: waive, acknowledge, reopen or comment",
        description=(
            "Writes one new CSV file into the decisions folder (TALLY_DECISIONS_DIR, default "
            "data/decisions), created if missing; never changes or deletes a file there. The "
            "next build applies it (docs/decisions.md). One decision: --recon --key --type "
            "--action --reason [--by] [--at]. A bulk file: --file FILE with columns "
            "recon_name, record_key, break_type, action, reason and optionally decided_by and "
            "decided_at (empty ones take --by and --at); it is checked whole against the "
            "published marts (every row names an existing break, a known action and a "
            "reason) and copied in only when every row passes, else refused naming each "
            "bad row."
        ),
    )
    decide.add_argument("--recon", help="reconciliation of the break (e.g. payments_psp)")
    decide.add_argument("--key", help="record key of the break, as in fct_recon_breaks")
    decide.add_argument(
        "--type",
        dest="break_type",
        help="break type: missing_in_right, missing_in_left, value_mismatch, duplicate_key, ...",
    )
    decide.add_argument(
        "--action",
        help="acknowledge (keep it open, someone is on it), waive (not a problem: it no "
        "longer counts as open), reopen (undo a waiver or acknowledgement), comment",
    )
    decide.add_argument("--reason", help="why, in words an auditor reads (required)")
    decide.add_argument("--by", help="who decides (default: the OS user)")
    decide.add_argument(
        "--at",
        help="when it was decided, ISO 8601, UTC without an offset (default: now); records a "
        "decision taken elsewhere. A build whose as_of is before it does not apply it",
    )
    decide.add_argument("--file", type=Path, help="a bulk CSV file of decisions")
    decide.add_argument(
        "--decisions-dir",
        type=Path,
        help="decisions folder (env TALLY_DECISIONS_DIR, default data/decisions)",
    )
    decide.add_argument(
        "--target",
        choices=list(TARGETS),
        help="warehouse whose breaks are checked (env TALLY_TARGET, default duckdb)",
    )
    decide.add_argument("--duckdb-path", type=Path, help="DuckDB file (env TALLY_DUCKDB_PATH)")

    report = commands.add_parser(
        "report",
        help="write the self-contained HTML reconciliation report",
        description=(
            "Reads the published marts and writes one HTML file (through a temporary "
            ".<name>.partial beside it, then a rename), replacing that file only."
        ),
    )
    report.add_argument(
        "--out",
        type=Path,
        help="HTML file to write, replaced if it exists (default: report.html beside the "
        "DuckDB file)",
    )
    report.add_argument(
        "--target",
        choices=list(TARGETS),
        help="warehouse engine to read (env TALLY_TARGET, default duckdb)",
    )
    report.add_argument("--duckdb-path", type=Path, help="DuckDB file (env TALLY_DUCKDB_PATH)")
    return parser


def _generate(args: argparse.Namespace) -> int:
    from orchestration.generate import generate
    from orchestration.owned_files import ForeignFiles

    try:
        manifest = generate(
            args.out, seed=args.seed, start=args.start, days=args.days, progress=print
        )
    except (ValueError, ForeignFiles) as error:
        print(f"tally generate: {error}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"tally generate: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    rows = sum(manifest.get("row_counts", {}).values())
    print(f"Wrote {rows} rows in {manifest.get('files')} files under {args.out}")
    print(f"Ground truth: {args.out / '_expected' / 'breaks.csv'} (as of {manifest.get('as_of')})")
    return EXIT_OK


def _build(args: argparse.Namespace) -> int:
    from orchestration.build import BuildError, build, records_in_dagster
    from orchestration.summary import (
        format_decisions,
        format_freshness,
        format_summary,
        format_volume,
        read_freshness,
        read_summary,
    )
    from orchestration.volume import read_episodes
    from orchestration.warehouse import marts

    try:
        settings = Settings.from_env(
            landing_dir=args.landing,
            decisions_dir=args.decisions_dir,
            as_of=args.as_of,
            target=args.target,
            duckdb_path=args.duckdb_path,
        )
        if records_in_dagster():
            from orchestration.defs.cli_build import build_as_dagster_run

            result = build_as_dagster_run(
                settings,
                full_refresh=args.full_refresh,
                select=args.select,
                show_progress=not args.quiet,
            )
        else:
            result = build(
                settings,
                full_refresh=args.full_refresh,
                select=args.select,
                show_progress=not args.quiet,
            )
    except (BuildError, ValueError) as error:
        print(f"tally build: {error}", file=sys.stderr)
        return EXIT_ERROR

    outcome = result.outcome
    if outcome.has_errors:
        print(f"\ntally build failed after {result.seconds:.1f}s:", file=sys.stderr)
        if outcome.fatal:
            print(f"  {outcome.fatal}", file=sys.stderr)
        for problem in outcome.errors:
            print(f"  {problem.describe()}", file=sys.stderr)
        if outcome.skipped:
            print(f"  ({len(outcome.skipped)} nodes skipped because of these)", file=sys.stderr)
        if settings.target in ("postgres", "spark"):
            how = "atomically" if settings.target == "postgres" else "by a rename"
            print(
                f"In {settings.describe_warehouse()} the failed and skipped models keep their "
                f"previous tables (each table is replaced {how}, only when it builds).",
                file=sys.stderr,
            )
        else:
            print(
                f"The published marts in {settings.describe_warehouse()} are unchanged "
                "(last good build).",
                file=sys.stderr,
            )
        return EXIT_ERROR

    print(
        f"\nBuild finished in {result.seconds:.1f}s ({outcome.node_count} nodes), "
        f"as_of {result.as_of}"
    )
    for problem in outcome.warnings:
        print(f"  warning: {problem.describe()}")
    if result.landing is not None:
        print(result.landing.describe())
    with marts.reading(settings):  # one connection for the summary's reads
        summaries, quarantined = read_summary(settings)
        print(format_summary(summaries, quarantined))
        decided = format_decisions(settings)
        if decided:
            print(decided)
        print(format_freshness(read_freshness(settings)))
        print(format_volume(read_episodes(settings)))
    broken = {row.recon_name: row.breaks for row in summaries or [] if row.breaks}
    if broken:
        names = ", ".join(f"{name} ({count} windows)" for name, count in sorted(broken.items()))
        print(f"Reconciliations with open breaks: {names}")
    elif summaries is not None:
        print("No reconciliation has open breaks.")
    print(f"Marts: {settings.describe_warehouse()}")
    validated = None
    if not args.no_validate and settings.target == "spark":
        print(
            "Great Expectations: not run on the spark target (the checkpoint reads DuckDB "
            "or PostgreSQL); the build's dbt tests checked these marts."
        )
    elif not args.no_validate:
        validated = _run_checkpoint(settings, None, "tally build")
        if validated is None:
            print(
                "The build succeeded and its marts are published; `--no-validate` skips "
                "the checkpoint.",
                file=sys.stderr,
            )
            return EXIT_ERROR
    if broken and args.fail_on_breaks:
        return EXIT_BREAKS
    if validated is not None and validated.failed_tables and args.fail_on_findings:
        return EXIT_BREAKS
    return EXIT_OK


def _run_checkpoint(settings: Settings, docs_dir: Path | None, command: str):
    """Runs the checkpoint and prints its summary; None (after a message) when it
    could not run or evaluate an expectation. Failed expectations are findings,
    not errors."""
    from orchestration.expectations import ValidationError, run_checkpoint

    try:
        outcome = run_checkpoint(settings, docs_dir=docs_dir)
    except ValidationError as error:
        print(f"{command}: the expectations could not run: {error}", file=sys.stderr)
        return None
    print(outcome.describe())
    if outcome.errors:
        count = len(outcome.errors)
        print(f"{command}: {count} expectation(s) could not be evaluated:", file=sys.stderr)
        for failure in outcome.errors:
            print(f"  {failure.suite}: {failure.describe()}", file=sys.stderr)
        return None
    return outcome


def _validate(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(target=args.target, duckdb_path=args.duckdb_path)
    except ValueError as error:
        print(f"tally validate: {error}", file=sys.stderr)
        return EXIT_ERROR
    outcome = _run_checkpoint(settings, args.docs_dir, "tally validate")
    if outcome is None:
        return EXIT_ERROR
    if outcome.failed_tables and args.fail_on_findings:
        return EXIT_BREAKS
    return EXIT_OK


def _alert(args: argparse.Namespace) -> int:
    from orchestration.alerts import run_alerts
    from orchestration.alerts.routing import RoutingError
    from orchestration.warehouse.marts import MartsUnavailable

    try:
        settings = Settings.from_env(duckdb_path=args.duckdb_path)
        run = run_alerts(settings, webhook=args.webhook, requeue_rejected=args.requeue_rejected)
    except (RoutingError, MartsUnavailable, TimeoutError, ValueError) as error:
        print(f"tally alert: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(run.describe())
    if not run.ok:
        print(f"tally alert: {run.problem()}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _decide(args: argparse.Namespace) -> int:
    from orchestration import decisions
    from orchestration.decisions import Decision, DecisionError

    single = {
        "--recon": args.recon,
        "--key": args.key,
        "--type": args.break_type,
        "--action": args.action,
        "--reason": args.reason,
    }
    try:
        settings = Settings.from_env(
            decisions_dir=args.decisions_dir, target=args.target, duckdb_path=args.duckdb_path
        )
        if args.file is not None:
            given = [flag for flag, value in single.items() if value is not None]
            if given:
                raise DecisionError(f"--file takes its decisions from the file; drop {given[0]}")
            path, count = decisions.decide_file(settings, args.file, by=args.by, at=args.at)
            print(f"Recorded {count} decision(s) from {args.file} in {path}")
            return EXIT_OK
        missing = [flag for flag, value in single.items() if not (value or "").strip()]
        if missing:
            raise DecisionError(
                f"{', '.join(missing)} missing: a decision names its break (--recon, --key, "
                "--type), an --action and a --reason; or give a bulk --file"
            )
        decision = Decision(
            args.recon.strip(),
            args.key.strip(),
            args.break_type.strip(),
            args.action.strip().lower(),
            args.reason.strip(),
            (args.by or decisions.default_user()).strip(),
            decisions.decided_at(args.at),
        )
        path, warnings = decisions.decide(settings, decision)
    except (DecisionError, ValueError) as error:
        print(f"tally decide: {error}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"tally decide: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    for warning in warnings:
        print(f"tally decide: warning: {warning}", file=sys.stderr)
    print(
        f"Recorded: {decision.action} {decision.recon_name} {decision.record_key} "
        f"{decision.break_type} by {decision.decided_by} at {decision.decided_at} in {path}; "
        "the next build applies it"
    )
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from orchestration.report import write_report
    from orchestration.warehouse.marts import MartsUnavailable

    try:
        settings = Settings.from_env(duckdb_path=args.duckdb_path, target=args.target)
        path, data = write_report(settings, args.out)
    except (MartsUnavailable, ValueError, OSError) as error:
        print(f"tally report: {error}", file=sys.stderr)
        return EXIT_ERROR
    broken = sum(1 for recon in data.reconciliations if recon.open_breaks)
    print(
        f"Report: {path.resolve()} ({len(data.reconciliations)} reconciliations, "
        f"{broken} with open breaks; read from {data.warehouse})"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "generate": _generate,
        "build": _build,
        "validate": _validate,
        "alert": _alert,
        "decide": _decide,
        "report": _report,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
