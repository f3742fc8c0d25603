"""Supervisor-edited routing rules: CEL expressions on customer criteria into a RoutingPlan."""
