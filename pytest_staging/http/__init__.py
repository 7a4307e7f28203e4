"""HTTP to the target: the session client, its transports, retries, TLS, login and readiness.

Each module has one job; data flows down the list (a module imports only those above it):

- `target`: where the target is, its URL credentials kept secret, HTTP Basic's one encoding;
- `tls`: what the client trusts, the certificate as a verifying client sees it, and the
  way out of a certificate that does not verify;
- `deadlines`: every wait of a request cut to its whole exchange's deadline, so a target
  that drips bytes cannot hold it for ever;
- `body_limits`: a body held to --staging-max-body, decompressed, before httpx inflates it;
- `retrying`: idempotent requests tried again on transient failures, bounded, and only the
  retries that rescued a request reported;
- `failures`: one line for a request that got no usable answer: the request, the cause,
  what to check;
- `transports`: each attempt timed into the phase log, and credentials kept on the
  target's origin;
- `wire_secrets`: the secrets the client sees on the wire (cookies, Authorization)
  registered with the redactor;
- `client`: `build_client`, the session's `httpx.Client` with all of the above stacked;
- `auth`: the manifest's `[auth]` credentials and the login that turns them into a token;
- `readiness`: the wait, once per run on the controller, for the deploy to answer healthy.

Importing this package imports nothing: each module is imported where it is used.
"""
