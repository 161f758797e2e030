"""The ``kaohe`` command the office clerk runs on the server."""
