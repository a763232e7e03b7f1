"""Where bytes come from: layers, archives, OCI layouts and the engine, and the image scan over them."""
