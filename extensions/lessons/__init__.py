"""Lessons served read-only through Voilà by the Hub-managed service ``cartable-lessons``.

- :mod:`.library`: which lessons exist (the course library's catalogue and the lessons
  teachers publish), who may open which one (from the viewer's Hub groups), and the tree of
  notebooks Voilà serves;
- :mod:`.lite`: the low-bandwidth form of a lesson (pre-rendered HTML, widgets' last state
  embedded and drawn without JavaScript), built ahead of time and cached;
- :mod:`.service`: the service itself (Voilà with Hub OAuth, pre-started kernels, the
  lesson list, the low-bandwidth pages and the publishing API);
- the kernelspec ``cartable-lesson`` (``share/jupyter/kernels``), whose launcher
  (:mod:`cartable.core.kernel_account`) drops to the lessons' unprivileged account;
- :mod:`.cli`: ``cartable lessons build|publish|withdraw|list``.

See ``docs/lessons.md``.
"""

from pathlib import Path

SERVICE_NAME = "cartable-lessons"
SHARE = Path(__file__).parent / "share" / "jupyter"
KERNEL_NAME = "cartable-lesson"
