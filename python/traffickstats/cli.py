"""The ``traffickstats`` command line.

``traffickstats report [--data DIR | --sample] [--year Y] [--compare-to Y] [--since Y]
[--format text|markdown|html|json|csv] [--min-cell K] [--interval METHOD] [--output FILE]``
prints the yearly report; ``traffickstats validate (DIR | --sample)`` lists every
problem in a dataset folder (exit status 1 when there are errors);
``traffickstats --version`` prints the version.  Mistakes in the input (a missing
folder, invalid data, a bad option) are reported on stderr with a non-zero exit
status and no traceback; warnings (a year after the last date in the data, a
repeated list item, ...) go to stderr as ``traffickstats: warning: ...``.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .model.dataset import Dataset

__all__ = ["main"]

FORMATS = ("text", "markdown", "html", "json", "csv")


class _UserError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    from ._version import __version__

    p = argparse.ArgumentParser(prog="traffickstats",
                                description="Yearly statistics on human-trafficking case records.")
    p.add_argument("--version", action="version", version=f"traffickstats {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("report", help="print the yearly report of a dataset",
                       description="Compute every documented statistic for one year.")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="DIR", help="folder with cases.csv, defendants.csv, victims.csv")
    src.add_argument("--sample", action="store_true",
                     help="use the bundled synthetic sample (the default when --data is not given)")
    r.add_argument("--year", type=int, default=2020, help="reference year (default 2020)")
    r.add_argument("--compare-to", type=int, default=None, help="comparison year (default: the year before)")
    r.add_argument("--since", type=int, default=None,
                   help="first year of the cumulative figures (default 2000, or --year when earlier)")
    r.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    r.add_argument("--min-cell", type=int, default=None, metavar="K",
                   help="withhold counts below K (default: off; 11 for --sensitive data); 0 switches it off")
    r.add_argument("--sensitive", action="store_true", help="mark the data as sensitive (min-cell 11 by default)")
    r.add_argument("--interval", default="wilson", choices=("wilson", "clopper-pearson", "jeffreys"),
                   help="confidence interval method (default wilson)")
    r.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    v = sub.add_parser("validate", help="list every problem in a dataset folder",
                       description="Check a dataset folder against the traffickstats schema.")
    vsrc = v.add_mutually_exclusive_group(required=True)
    vsrc.add_argument("folder", metavar="DIR", nargs="?", help="folder with cases.csv, defendants.csv, victims.csv")
    vsrc.add_argument("--sample", action="store_true", help="check the bundled synthetic sample")
    v.add_argument("--format", choices=("text", "csv", "json"), default="text")
    return p


def _load(args: argparse.Namespace) -> Dataset:
    from .datasets import load_sample
    from .errors import DatasetError
    from .model.dataset import read_dataset

    if args.data:
        try:
            return read_dataset(args.data, sensitive=args.sensitive)
        except FileNotFoundError as exc:
            raise _UserError(str(exc)) from None
        except DatasetError as exc:
            raise _UserError(f"{exc}\n(run 'traffickstats validate {args.data}' for the full list)") from None
    ds = load_sample()
    ds.sensitive = bool(args.sensitive)
    return ds


def _report(args: argparse.Namespace) -> int:
    from .report import report

    if args.min_cell is not None and args.min_cell < 0:
        raise _UserError(f"--min-cell must be 0 or more, got {args.min_cell}")
    ds = _load(args)
    try:
        rep = report(ds, year=args.year, compare_to=args.compare_to, min_cell=args.min_cell,
                        since=args.since, method=args.interval)
    except ValueError as exc:
        raise _UserError(str(exc)) from None
    text = {"text": rep.to_text, "markdown": rep.to_markdown, "html": rep.to_html, "json": rep.to_json,
            "csv": rep.to_csv}[args.format]()
    _write(text, args.output)
    return 0


def _write(text: str, output: str | None) -> None:
    if output:
        try:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        except OSError as exc:
            raise _UserError(f"cannot write {output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)


def _validate(args: argparse.Namespace) -> int:
    from .datasets import sample_dir
    from .model.dataset import validate

    folder = str(sample_dir()) if args.sample else args.folder
    try:
        problems = validate(folder)
    except FileNotFoundError as exc:
        raise _UserError(str(exc)) from None
    errors = int((problems["severity"] == "error").sum())
    if args.format == "csv":
        sys.stdout.write(problems.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(problems.to_json(orient="records", indent=2) + "\n")
    elif len(problems) == 0:
        sys.stdout.write(f"{folder}: no problems found\n")
    else:
        for r in problems.to_dict("records"):
            line = "" if r["line"] is None or str(r["line"]) == "<NA>" else f":{r['line']}"
            col = f" [{r['column']}]" if r["column"] else ""
            val = f" {r['value']!r}" if r["value"] not in ("", None) else ""
            sys.stdout.write(f"{r['file']}{line}{col}: {r['severity']}: {r['problem']}{val}\n")
        sys.stdout.write(f"{errors} error(s), {len(problems) - errors} warning(s)\n")
    return 1 if errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        from .errors import DatasetWarning, DataWarning, ParseWarning

        ours = (DatasetWarning, DataWarning, ParseWarning)
        with warnings.catch_warnings(record=True) as caught:
            for cls in ours:   # every one of them said; others as Python's filters decide
                warnings.simplefilter("always", cls)
            status = _report(args) if args.command == "report" else _validate(args)
        for w in caught:
            if issubclass(w.category, ours):
                sys.stderr.write(f"traffickstats: warning: {w.message}\n")
            else:
                sys.stderr.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
        return status
    except _UserError as exc:
        sys.stderr.write(f"traffickstats: error: {exc}\n")
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        return 130
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
