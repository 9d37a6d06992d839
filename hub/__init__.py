"""The hub side of Cartable: site configuration, roster, accounts, roles, spawner."""
