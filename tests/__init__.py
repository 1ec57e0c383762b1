"""pcn-planner test suite."""
