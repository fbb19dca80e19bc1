"""nova-livemig: cost-aware live-migration planning for OpenStack Nova."""
