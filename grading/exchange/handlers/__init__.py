"""The exchange service's request handlers, one module per resource: :mod:`.courses` (who am
I, my courses), :mod:`.assignments`, :mod:`.submissions`, :mod:`.feedback`, :mod:`.practice`
(grading on submit, the sandbox), :mod:`.audit`, :mod:`.announcements` and :mod:`.exposes`;
:mod:`.base` holds what they share. The URL table is in :mod:`cartable.grading.exchange.service`.
"""
