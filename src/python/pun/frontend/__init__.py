"""pun as a BuildKit gateway frontend (`#syntax=<pun image>`).

BuildKit starts the frontend image's entrypoint with the build options in its environment
and serves the LLBBridge gRPC API on the process's stdin/stdout. Modules:

- `detect`: is this process a BuildKit frontend? (imports nothing heavy; used by the CLI)
- `environment`: the BUILDKIT_* variables -> FrontendEnvironment
- `options`: frontend options (filename, build-arg:*, platform, ...) -> BuildRequest
- `stdio`: grpcio cannot use fds, so a private unix socket is relayed to fd 0/1
- `bridge`: typed calls on the LLBBridge stub; `caps`: what the daemon can do
- `imageconfig`: the image config JSON returned with the result
- `build`: Ping'd bridge + request -> read Containerfile, generate LLB, Solve, result
- `steps`: warnings as named build steps, for daemons without the Warn call
- `main`: wiring, stdout protection, Return of the result or the error
"""
