"""Wire protocols: one module per protocol, used by the drivers that speak it and by the
simulators that answer it. Imports nothing but ``core``."""
