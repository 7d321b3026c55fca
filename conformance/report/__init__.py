"""The report stage: what a run found, for people and for machines.

- :mod:`conformance.report.results`: the records (:class:`Result`, :class:`RuntimeRecord`,
  :class:`Report`), ``report.json`` and ``report.md``, and the helpers every view shares
  (:func:`worst_cells`, :func:`case_counts`);
- :mod:`conformance.report.html`: ``report.html``, the same report as one self-contained page;
- :mod:`conformance.report.baseline`: saved baselines and the comparison with one.

``from conformance.report import Report`` (and the other names below) is the stable way in.
"""

from conformance.report.results import (
    HOST,
    MARK,
    OUTCOMES,
    RANK,
    VIEWS_PROPERTY,
    Report,
    Result,
    ResultOutcome,
    RuntimeRecord,
    case_counts,
    worst_cells,
)

__all__ = [
    "HOST",
    "MARK",
    "OUTCOMES",
    "RANK",
    "VIEWS_PROPERTY",
    "Report",
    "Result",
    "ResultOutcome",
    "RuntimeRecord",
    "case_counts",
    "worst_cells",
]
