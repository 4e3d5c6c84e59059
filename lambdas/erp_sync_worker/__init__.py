"""ERP sync worker: applies queued ERP events to the entity store, from every priority lane."""
