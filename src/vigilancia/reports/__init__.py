"""Render only: result objects in, PDF, PNG and HTML out.

Nothing here reads the store or calls a service: each renderer takes the plain result
object a service returned and draws it (matplotlib without pyplot; Jinja2 and WeasyPrint
for documents). The layer sits above the services and below the shells (``cli``,
``web``), so a service that writes a map or a report as part of its work takes the
renderer as a parameter and the shell passes the function from here:

- :mod:`~vigilancia.reports.package_map`: the offline package's one-page PDF map
  (:class:`~vigilancia.services.package.PackageMap`);
- :mod:`~vigilancia.reports.risk_map`: the community risk map, PNG
  (:class:`~vigilancia.services.risk_export.RiskMap`);
- :mod:`~vigilancia.reports.classifier_chart`: the driver model's evaluation chart,
  PNG (:class:`~vigilancia.services.classifier.Evaluation`);
- :mod:`~vigilancia.reports.case_report`: the case report for authorities, PDF
  (:class:`~vigilancia.services.case_report.CaseReport`);
- :mod:`~vigilancia.reports.bulletin`: the monthly community bulletin, PDF or HTML
  (:class:`~vigilancia.services.bulletin.Bulletin`);
- :mod:`~vigilancia.reports.trends`: the regional trends, PDF
  (:class:`~vigilancia.services.trends.Trends`);

and what they share: :mod:`~vigilancia.reports.cartography` (maps: polygons, lines,
named features, scale bar, north arrow), :mod:`~vigilancia.reports.charts` (bars and
lines with their source) and :mod:`~vigilancia.reports.document` (the Jinja2 templates
of ``reports/templates``, a workspace's ``plantillas`` folder in front, and the PDF with
fixed metadata). The three reports are issued through
:func:`vigilancia.services.reporting.issue_report`, which records them in the custody
log; ``docs/reports.md`` says what their content hash covers.
"""
