"""The Docker Engine API on a unix socket (`minicontainer system service`), as Podman's compat
service: a stateless front end over the same Runtime the CLI drives. One process per connection
(forked from a single-threaded listener: the runtime forks too), no state of its own but the exec
records; containers keep running when it stops, and a new service serves them.

    http.py      HTTP/1.1 on one connection: requests, JSON replies, chunked streams, the hijack
    server.py    the listener: socket, fork per connection, idle exit
    routes.py    method + path -> handler, with or without a /vX.Y prefix
    errors.py    MCError -> Docker's status codes and {"message": ...} bodies
    system.py    _ping, version, info, events
    containers.py, streams.py, archive.py, execs.py, images.py, networks.py, volumes.py: the endpoints
    translate.py the create request's Config and HostConfig -> the CLI's run options
"""
