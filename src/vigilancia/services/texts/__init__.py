"""Results in words, in the user's language: the text builders every shell and report share.

- :mod:`~vigilancia.services.texts.drivers`: driver names, reasons and verdicts, and the
  number formats of the language;
- :mod:`~vigilancia.services.texts.cases`: case statuses, verdicts and why a case has its
  priority;
- :mod:`~vigilancia.services.texts.risk`: risk classes, factor names and the sentence that
  explains a score;
- :mod:`~vigilancia.services.texts.territories`: kinds of territory, and what re-placing
  the clearings after a change of territories did;
- :mod:`~vigilancia.services.texts.custody`: the names of the custody log's actions.

They only turn result objects into text: no store, no files.
"""
