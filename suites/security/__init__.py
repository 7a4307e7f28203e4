"""Security: transport (HTTPS, TLS expiry), protective headers, quiet errors, rate limits."""
