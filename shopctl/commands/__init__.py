"""One module per subcommand; each exposes ``command``, registered in ``shopctl.app``."""
