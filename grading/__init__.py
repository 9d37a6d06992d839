"""nbgrader integration: courses, exchange, autograding, gradebook and analytics."""
