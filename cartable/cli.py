"""The ``cartable`` command: one entry point, a sub-command group per area."""

from __future__ import annotations

import sys

import click

from cartable.core import config as site_config


class Context:
    """What every sub-command shares: the site configuration, loaded on first use."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._cfg = None

    @property
    def cfg(self) -> site_config.SiteConfig:
        if self._cfg is None:
            try:
                self._cfg = site_config.load(self.config_path)
            except site_config.ConfigError as e:
                click.echo(str(e), err=True)
                sys.exit(2)
        return self._cfg

    def db(self):
        from cartable.core import db

        return db.for_config(self.cfg)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", "config_path", envvar="CARTABLE_CONFIG", default=None,
              help="Path of cartable.yaml (default: ./cartable.yaml or $CARTABLE_CONFIG).")
@click.pass_context
def main(ctx, config_path):
    """Cartable: a Jupyter courseware platform for lycées."""
    from cartable.hub.privacy import private_umask

    private_umask()  # databases, slips and credentials are born readable by their owner only
    ctx.obj = Context(config_path)


def _register():
    from cartable.hub.commands import config_cmd, demo_cmd, hub_cmd
    from cartable.hub.roster_cli import accounts_cmd, roster_cmd

    main.add_command(config_cmd)
    main.add_command(hub_cmd)
    main.add_command(demo_cmd)
    main.add_command(roster_cmd)
    main.add_command(accounts_cmd)
    from cartable.grading.cli import course_cmd

    main.add_command(course_cmd)
    from cartable.extensions.lessons.cli import lessons_cmd, library_cmd

    main.add_command(lessons_cmd, "lessons")
    main.add_command(lessons_cmd, "lesson")
    main.add_command(library_cmd)


_register()
