"""The Tredegar node: storage, read models, HTTP API and command line."""

__version__ = "0.1.0"
