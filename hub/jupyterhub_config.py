# JupyterHub configuration of a Cartable site: everything comes from cartable.yaml
# (path in $CARTABLE_CONFIG), turned into settings by cartable.hub.layers.
import sys

from cartable.hub import privacy

# before anything is written: databases, secrets and the exchange are born private
privacy.private_umask()

from cartable.core import config
from cartable.hub import layers

try:
    site = config.load()
except config.ConfigError as error:
    print(error, file=sys.stderr)
    sys.exit(2)

warning = layers.isolation_warning(site)
if warning:
    print("\n" + "!" * 78 + "\n" + warning + "\n" + "!" * 78 + "\n", file=sys.stderr)

exposed = privacy.exposures(site, isolated=layers.isolated(site))
if exposed:
    print(privacy.refusal(exposed), file=sys.stderr)
    sys.exit(2)

from cartable.hub import network

unrestricted = network.apply(site)
if unrestricted:
    print("\n" + "!" * 78 + "\n" + unrestricted + "\n" + "!" * 78 + "\n", file=sys.stderr)
    if site["network"]["isolation"] == "required":
        sys.exit(2)

from cartable.core.connections import password_warning

weak = password_warning("hub.database_url", site["hub"]["database_url"])
if weak:
    print(weak, file=sys.stderr)

layers.apply(c, site)
