"""Contact-center simulator: a discrete-event simulation around the real routing core.

`scenarios` builds what to simulate, `traffic` draws the customers, `runner` drives
`RoutingEngine` on a `VirtualClock`, `summary` reads the `SlaStats` it produced, and
`whatif` compares rulesets on the same traffic.
"""
