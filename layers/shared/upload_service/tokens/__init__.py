"""Upload tokens: minting with the ttl rules, who sees which token, the list a page at a time, and
revoking one (which decides its open uploads). The token API's reads and creates load no upload code."""
