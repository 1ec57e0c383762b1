"""Model: the problem, plans, the compiled instance, the hard rules and the feasibility checks."""
