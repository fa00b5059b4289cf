"""One router per resource group of the REST API."""
