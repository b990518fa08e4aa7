"""Pure device models: no I/O, no clock. Each `step(now, dt_s, ...)` advances a model over the `dt_s` seconds
ending at `now` and returns its AC power in W (+ consumption, - generation or discharge)."""
