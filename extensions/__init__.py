"""Jupyter server and JupyterLab extensions for pupils and teachers."""
