"""The domain and the engine: plain Python called by views, the API, the CLI and tests."""
