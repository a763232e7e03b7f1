"""hubguard: stop secrets before `docker push`."""

__version__ = "0.1.0"
