#!/bin/sh
# Starts the stand-in engine: dockerd on tcp (no TLS: the test network is this machine's own bridge) and on its
# usual socket, its log on stdout so that `docker logs` shows why it did not start.
set -eu
exec dockerd -H tcp://0.0.0.0:2375 -H unix:///var/run/docker.sock
