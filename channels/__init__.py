"""Channel adapters: native provider payloads into one Interaction."""
