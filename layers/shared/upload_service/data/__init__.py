"""All DynamoDB access: one table, one module per item kind, keys designed so that no request Scans;
`repository` gathers the stores for the functions that use several."""
