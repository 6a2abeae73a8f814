"""Finance services. They never commit: the caller's transaction (a request, a job, another
context's document) decides."""
