"""Render only: result objects in, PDF, PNG (and later HTML) out.

Nothing here reads the store or calls a service: each renderer takes the plain result
object a service returned and draws it (matplotlib, without pyplot). The layer sits
above the services and below the shells (``cli``, ``web``), so a service that writes a
map as part of its work takes the renderer as a parameter and the shell passes the
function from here:

- :mod:`~vigilancia.reports.package_map`: the offline package's one-page PDF map
  (:class:`~vigilancia.services.package.PackageMap`);
- :mod:`~vigilancia.reports.risk_map`: the community risk map, PNG
  (:class:`~vigilancia.services.risk_export.RiskMap`);
- :mod:`~vigilancia.reports.classifier_chart`: the driver model's evaluation chart,
  PNG (:class:`~vigilancia.services.classifier.Evaluation`).
"""
