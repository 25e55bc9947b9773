"""The shared kernel every layer stands on: the frame, the source status, the stage and its lift, the
Rx kit for one thread, order intents and reports, the config section base. It imports no layer."""
