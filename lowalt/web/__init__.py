"""The live map page (served by lowalt.api.routers.web) and its benchmark."""
