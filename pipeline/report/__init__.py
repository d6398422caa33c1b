"""Report: claims, comments, clusters and labels -> one self-contained HTML stance map."""

from stancemap.report.render import build_report, run

__all__ = ["build_report", "run"]
