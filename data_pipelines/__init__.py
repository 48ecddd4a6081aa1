"""Dataset builders: raw videos -> TFRecord shards that `vidgan.data` reads fast."""
