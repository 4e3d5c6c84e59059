"""What the stack is expected to hold, by construct path: its functions and queue pairs, as
the tests name them (the paths are those of the deployed stack: they make its logical IDs)."""

from __future__ import annotations

# Each function: its path → its key in the env's `functions` config.
FUNCTIONS = {
    "Ingest": "ingest",
    "DownloadWorker": "download_worker",
    "ProcessingWorker": "processing_worker",
    "OpsApi": "ops_api",
    "Erp/Ingest": "erp_ingest",
    "Erp/SyncWorker": "erp_sync_worker",
    "StuckEvents/Sweeper": "stuck_sweeper",
    "Catalog/Api": "catalog_api",
    "Catalog/Worker": "enrichment_worker",
    "CircuitBreaker/Probe": "breaker_probe",
}
FUNCTION_PATHS = {key: path for path, key in FUNCTIONS.items()}
# Each queue pair: its path → the stage operators name it by, its consumer's config key, and
# its consumer's function key.
QUEUES = {
    "DownloadQueue": ("download", "download", "download_worker"),
    "ProcessingQueue": ("processing", "processing", "processing_worker"),
    "Erp/HighLane": ("erp-high", "erp_high", "erp_sync_worker"),
    "Erp/StandardLane": ("erp-standard", "erp_standard", "erp_sync_worker"),
    "Erp/LowLane": ("erp-low", "erp_low", "erp_sync_worker"),
    "Catalog/Queue": ("enrichment", "enrichment", "enrichment_worker"),
}
ERP_LANES = ("High", "Standard", "Low")
# The catalog pipeline keeps no events: these functions must not see the events table.
NO_EVENTS = ("Catalog/Api", "Catalog/Worker")
