//! wstg-poller: reads DefectDojo back and emits reconciliation events.
