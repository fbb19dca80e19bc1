"""One module per resource of the API; :mod:`nova_livemig.api.router`
maps the paths to their functions."""
