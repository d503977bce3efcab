"""Human renderings of a :class:`~reconcile.coco.report.CocoReport` (rich and plain text)."""

from __future__ import annotations

from rich.text import Text

from reconcile.coco.report import CocoReport


def report_title(report: CocoReport) -> str:
    where = report.source or "<input>"
    n_err = sum(p.count for p in report.errors)
    n_warn = sum(p.count for p in report.warnings)
    verdict = "valid" if report.valid else "INVALID"
    return f"{where}: {verdict} ({n_err} error(s), {n_warn} warning(s))"


def render_report(report: CocoReport) -> Text:
    """A rich renderable: the verdict, each problem (errors first) with its count and examples, then the summary."""
    out = Text(report_title(report), style="bold green" if report.valid else "bold red")
    for p in sorted(report.problems, key=lambda p: p.severity != "error"):
        out.append("\n")
        out.append(f"  {p.severity:<7} ", style="red" if p.severity == "error" else "yellow")
        out.append(f"{p.code} ", style="bold")
        out.append(f"x{p.count}: ", style="bold")
        out.append(p.message)
        for ex in p.examples:
            out.append(f"\n      {ex.path}", style="cyan")
            out.append(f": {ex.detail}")
        if p.count > len(p.examples) and p.examples:
            out.append(f"\n      ... and {p.count - len(p.examples)} more", style="dim")
    if report.summary is not None:
        out.append("\n" + summary_line(report), style="dim")
    return out


def summary_line(report: CocoReport) -> str:
    s = report.summary
    if s is None:
        return ""
    text = f"{s.images} images, {s.annotations} annotations, {s.categories} categories"
    if s.images_without_annotations:
        text += f", {s.images_without_annotations} images without annotations"
    return text


def report_text(report: CocoReport) -> str:
    """The same content as :func:`render_report`, as plain text (for logs and plan output)."""
    lines = [report_title(report)]
    for p in sorted(report.problems, key=lambda p: p.severity != "error"):
        lines.append(f"  {p.severity} {p.code} x{p.count}: {p.message}")
        for ex in p.examples:
            lines.append(f"    {ex.path}: {ex.detail}")
        if p.count > len(p.examples) and p.examples:
            lines.append(f"    ... and {p.count - len(p.examples)} more")
    if report.summary is not None:
        lines.append(summary_line(report))
    return "\n".join(lines)
