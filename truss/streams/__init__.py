"""Live streams: chat capture, chat import, spike detection, reaction lag, spikes → clips."""
