"""Commands and queries: what the HTTP layer and the command line call.

Handlers parse input, call one service and serialise; the services hold the
rules (roles, catching up, schemas) and reach storage and read models, keeping
blocking calls off the event loop (writes through the writer thread, reads
through the read pool).
"""
