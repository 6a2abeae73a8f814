"""Security use cases. Every function takes the caller's session and never commits: the edge
(request, job, CLI) owns the transaction, so a use case and its audit rows and outbox events
commit or roll back together."""
