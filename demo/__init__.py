"""The demo business that `make run` shows: a stand-in bank's help articles, demo staff and
customers with a known password, and demo data requests. Sits on top of every app and is only
ever used with DEBUG=1."""
