# nbgrader settings for courses built from the Cartable library (French-speaking classes).
# A course's own nbgrader_config.py may start from this file; the course-library tests load it.
c = get_config()

# What the pupil sees where a solution was removed.
c.ClearSolutions.code_stub = {"python": "# VOTRE RÉPONSE ICI\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "VOTRE RÉPONSE ICI"

# Notebooks are released without outputs, checkpoints or editor files.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]
