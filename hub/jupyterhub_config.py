# JupyterHub configuration of a Cartable site: everything comes from cartable.yaml
# (path in $CARTABLE_CONFIG), turned into settings by cartable.hub.layers.
import sys

from cartable.hub import config, layers

try:
    site = config.load()
except config.ConfigError as error:
    print(error, file=sys.stderr)
    sys.exit(2)

warning = layers.isolation_warning(site)
if warning:
    print("\n" + "!" * 78 + "\n" + warning + "\n" + "!" * 78 + "\n", file=sys.stderr)

layers.apply(c, site)  # noqa: F821 (c is given by JupyterHub)
